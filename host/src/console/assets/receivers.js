// Receivers and plugins: per receiver its type, queue, deliveries sent and failed, retries and
// last error; per plugin its version, the routes it decides, calls, faults by kind and the p99
// call time. The counts are campanile's metrics (`/metrics`), the last errors and versions its
// own API (`/api/v1/receivers`, `/api/v1/plugins`); the reload button reloads the whole
// configuration with its plugins (`POST /-/reload`).

import { get, post } from './api.js';
import { h, fill, time, problem } from './dom.js';
import { parse, sum, values, quantile } from './metrics.js';

export function render(main) {
  const body = h('div', { id: 'receivers' });
  const result = h('div', { id: 'reload-result', 'aria-live': 'polite' });
  const reload = async () => {
    fill(result, h('p', { class: 'muted' }, 'Reloading…'));
    try {
      const report = await post('/-/reload');
      fill(result, h('p', { role: 'status' }, 'Reloaded.'), h('pre', {}, JSON.stringify(report, null, 2)));
      load(body);
    } catch (e) {
      fill(result, problem(String(e.message || e)));
    }
  };
  fill(main, h('h1', {}, 'Receivers and plugins'), body,
    h('p', { class: 'actions' }, h('button', { type: 'button', id: 'reload', on: { click: reload } }, 'Reload configuration and plugins')),
    result);
  load(body);
}

async function load(body) {
  try {
    const [receivers, plugins, text] = await Promise.all([
      get('/api/v1/receivers'), get('/api/v1/plugins'), get('/metrics'),
    ]);
    const m = parse(text);
    const n = (x) => String(Math.round(x));
    fill(body,
      h('h2', {}, 'Receivers'),
      h('div', { class: 'scroll' }, h('table', { id: 'receiver-table' },
        h('thead', {}, h('tr', {}, ['Receiver', 'Queued', 'Sent', 'Failed', 'Retries', 'Last error'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, receivers.map(({ name, type, last_error: lastError }) => {
          const failed = sum(m, 'campanile_notifications_total', { receiver: name, outcome: 'failed' });
          return h('tr', { 'data-receiver': name },
            h('th', { scope: 'row' }, name, h('div', { class: 'muted' }, type)),
            h('td', {}, n(sum(m, 'campanile_notification_queue', { receiver: name }))),
            h('td', {}, n(sum(m, 'campanile_notifications_total', { receiver: name, outcome: 'sent' }))),
            h('td', { class: failed ? 'error' : '' }, n(failed)),
            h('td', {}, n(sum(m, 'campanile_notification_retries_total', { receiver: name }))),
            h('td', { class: lastError ? 'error annotation' : '' },
              lastError ? [time(lastError.at), h('div', {}, lastError.error)] : '—'));
        })))),
      h('h2', {}, 'Plugins'),
      plugins.length ? h('div', { class: 'scroll' }, h('table', { id: 'plugin-table' },
        h('thead', {}, h('tr', {}, ['Plugin', 'Version', 'Routes', 'Calls', 'Faults', 'p99 call'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, plugins.map((p) => {
          const kinds = values(m.filter((s) => s.labels.plugin === p.name), 'campanile_plugin_faults_total', 'kind');
          const p99 = quantile(m, 'campanile_plugin_call_duration_seconds', { plugin: p.name }, 0.99);
          return h('tr', { 'data-plugin': p.name },
            h('th', { scope: 'row' }, p.name, h('div', { class: 'muted' }, p.path)),
            h('td', {}, h('code', {}, p.version || '—')),
            h('td', {}, p.routes.join(', ') || '—'),
            h('td', {}, n(sum(m, 'campanile_plugin_calls_total', { plugin: p.name }))),
            h('td', {}, kinds.length ? h('ul', { class: 'tree' }, kinds.map((k) => h('li', {},
              `${k}: ${n(sum(m, 'campanile_plugin_faults_total', { plugin: p.name, kind: k }))}`))) : '0'),
            h('td', {}, p99 === null ? '—' : `${(p99 * 1000).toFixed(2)} ms`));
        })))) : h('p', { class: 'muted' }, 'No routing plugin is configured.'));
  } catch (e) {
    fill(body, problem(String(e.message || e)));
  }
}
