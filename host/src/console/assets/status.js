// Status: campanile's version and uptime, the routing tree, store and process health (the
// probes and the store's metrics), and the cluster when there is one.

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
    const [status, healthy, ready, text] = await Promise.all([
      get('/api/v2/status'), probe('/-/healthy'), probe('/-/ready'), get('/metrics'),
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
      h('p', { class: 'muted' }, 'As Alertmanager would read it (receiver settings and plugins are not shown).'),
      h('pre', { id: 'config' }, status.config.original));
  } catch (e) {
    fill(body, problem(String(e.message || e)));
  }
}
