// Status: campanile's version and uptime, store and process health (the probes and the store's
// metrics), the cluster when there is one, and the routing tree (`/api/v1/routes`) with the
// plugin deciding each route.

import { get } from './api.js';
import { h, fill, time, span, problem } from './dom.js';
import { parse, sum } from './metrics.js';

export function render(main) {
  const body = h('div', { id: 'status' });
  fill(main, h('h1', {}, 'Status'), body);
  load(body);
}

async function probe(path) {
  try {
    const r = await fetch(path, { cache: 'no-store', credentials: 'omit' });
    return { ok: r.ok, text: (await r.text()).trim() };
  } catch (e) {
    return { ok: false, text: String(e) };
  }
}

async function load(body) {
  try {
    const [status, healthy, ready, text, routes] = await Promise.all([
      get('/api/v2/status'), probe('/-/healthy'), probe('/-/ready'), get('/metrics'), get('/api/v1/routes'),
    ]);
    const m = parse(text);
    const cluster = status.cluster || {};
    const failures = sum(m, 'campanile_store_commit_failures_total');
    fill(body,
      h('dl', { class: 'facts' },
        h('dt', {}, 'Version'), h('dd', { id: 'version' }, status.versionInfo.revision,
          h('span', { class: 'muted' }, ` (Alertmanager API ${status.versionInfo.version})`)),
        h('dt', {}, 'Up since'), h('dd', {}, time(status.uptime), ` (${span((Date.now() - new Date(status.uptime)) / 1000)})`),
        h('dt', {}, 'Healthy'), h('dd', { class: healthy.ok ? '' : 'error' }, healthy.text),
        h('dt', {}, 'Ready'), h('dd', { class: ready.ok ? '' : 'error' }, ready.text),
        h('dt', {}, 'Store'), h('dd', { class: failures ? 'error' : '' },
          failures ? `${failures} transaction(s) failed to write` : 'every transaction written'),
        h('dt', {}, 'Alerts held'), h('dd', {}, String(sum(m, 'campanile_alerts_active'))),
        h('dt', {}, 'Groups'), h('dd', {}, String(sum(m, 'campanile_groups')))),
      h('h2', {}, 'Cluster'),
      cluster.status === 'disabled' ? h('p', { class: 'muted' }, 'Not in a cluster (one replica).') : h('div', { id: 'cluster' },
        h('p', {}, `This replica: ${cluster.name} (${cluster.status})`),
        h('ul', { class: 'tree' }, (cluster.peers || []).map((p) => h('li', {}, `${p.name} ${p.address}`)))),
      h('h2', {}, 'Routing tree'),
      h('ul', { class: 'tree', id: 'routes' }, routeItem(routes)),
      h('details', {}, h('summary', {}, 'As Alertmanager reads it (amtool config routes)'),
        h('pre', { id: 'config' }, status.config.original)));
  } catch (e) {
    fill(body, problem(String(e.message || e)));
  }
}

/** A route and its children, as nested list items. */
function routeItem(r) {
  const facts = [
    `→ ${r.receiver}`,
    r.plugin ? `plugin ${r.plugin}` : null,
    `group by ${r.group_by.join(', ') || '(nothing)'}`,
    `wait ${r.group_wait}, interval ${r.group_interval}, repeat ${r.repeat_interval}`,
    r.continue ? 'continue' : null,
    r.mute_time_intervals.length ? `muted during ${r.mute_time_intervals.join(', ')}` : null,
    r.active_time_intervals.length ? `active during ${r.active_time_intervals.join(', ')}` : null,
  ].filter(Boolean);
  return h('li', { 'data-route': r.name },
    h('strong', {}, r.name || 'root'), ' ',
    r.matchers.length ? h('span', { class: 'labels' }, r.matchers.map((m) => h('span', { class: 'label' }, m))) : h('span', { class: 'muted' }, '(every alert)'),
    h('div', { class: 'muted' }, facts.join(' · ')),
    r.routes.length ? h('ul', { class: 'tree' }, r.routes.map(routeItem)) : null);
}
