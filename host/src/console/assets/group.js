// One group: its alerts, its acknowledgement (acknowledge with a comment, or withdraw it), the
// decision log (plugin and version, actions, receivers told, faults and the fallback, wake-up),
// the notification history (each delivery's outcome, attempts and last error), and a link to
// silence the whole group.

import { get, post, del, filters } from './api.js';
import { h, fill, time, problem } from './dom.js';
import { ofLabels, format } from './matchers.js';
import { alertItem, silenceHref } from './alerts.js';

const POLL_MS = 3000;
const BY_KEY = 'campanile.ackBy';

export function render(main, params) {
  const key = params.get('key') || '';
  const body = h('div', { id: 'group' });
  fill(main, h('h1', {}, 'Group'), h('p', {}, h('code', { class: 'label', id: 'group-key' }, key)), body);
  let timer = null;
  let stopped = false;
  let last = '';
  let narrow = [];

  async function refresh() {
    try {
      const q = new URLSearchParams({ group_key: key });
      const [groups, decisions, deliveries] = await Promise.all([
        get(`/api/v2/alerts/groups?${filters(narrow)}`),
        get(`/api/v1/groups/decisions?${q}`),
        get(`/api/v1/groups/deliveries?${q}`),
      ]);
      if (stopped) return;
      const group = groups.find((g) => g.groupKey === key);
      // Once its labels are known, only the group's own alerts are asked for.
      if (group && Object.keys(group.labels).length) narrow = ofLabels(group.labels).map(format);
      const seen = JSON.stringify([group, decisions, deliveries]);
      if (seen !== last && !main.contains(document.activeElement?.closest('form'))) {
        last = seen;
        draw(group, decisions, deliveries);
      }
    } catch (e) {
      if (!stopped) fill(body, problem(String(e.message || e)));
    }
    if (!stopped) timer = setTimeout(refresh, POLL_MS);
  }

  function draw(group, decisions, deliveries) {
    fill(body,
      group ? [
        h('p', { class: 'row' }, 'Receiver ', h('strong', {}, group.receiver.name),
          h('a', { class: 'button', href: silenceHref(ofLabels(Object.keys(group.labels).length ? group.labels : group.alerts[0]?.labels)) }, 'Silence this group')),
        h('h2', {}, 'Acknowledgement'),
        ackSection(group),
        h('h2', {}, `Alerts (${group.alerts.length})`),
        h('ul', { class: 'plain card' }, group.alerts.map((a) => alertItem(a, group))),
      ] : h('p', { class: 'muted' }, 'No alert of this group is active now (resolved, or not received yet).'),
      h('h2', {}, 'Decision log'),
      decisionTable(decisions),
      h('h2', {}, 'Notifications'),
      deliveryTable(deliveries));
  }

  function ackSection(group) {
    const ack = group.acknowledgement;
    const message = h('div', { id: 'ack-result' });
    if (ack) {
      return h('div', { id: 'ack' },
        h('p', {}, h('span', { class: 'badge acknowledged' }, 'acknowledged'), ' by ', h('strong', {}, ack.by), ' at ', time(ack.at)),
        ack.comment ? h('p', { class: 'annotation' }, ack.comment) : null,
        h('button', {
          type: 'button', id: 'unack',
          on: { click: () => act(message, () => del('/api/v1/groups/ack', { group_key: key })) },
        }, 'Withdraw acknowledgement'),
        message);
    }
    const by = h('input', { id: 'ack-by', required: true, value: localStorage.getItem(BY_KEY) || 'console', autocomplete: 'nickname' });
    const comment = h('textarea', { id: 'ack-comment', rows: 2 });
    return h('form', {
      id: 'ack',
      on: {
        submit: (e) => {
          e.preventDefault();
          localStorage.setItem(BY_KEY, by.value.trim());
          act(message, () => post('/api/v1/groups/ack', { group_key: key, by: by.value.trim(), comment: comment.value }));
        },
      },
    },
    h('label', { for: 'ack-by' }, 'Your name'), by,
    h('label', { for: 'ack-comment' }, 'Comment'), comment,
    h('p', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'ack-submit' }, 'Acknowledge')),
    message);
  }

  async function act(message, request) {
    try {
      await request();
      last = '';
      document.activeElement?.blur();
      clearTimeout(timer);
      refresh();
    } catch (e) {
      fill(message, problem(String(e.message || e)));
    }
  }

  refresh();
  return () => { stopped = true; clearTimeout(timer); };
}

function decisionTable(decisions) {
  if (!decisions.length) return h('p', { class: 'muted' }, 'No routing decision yet (the group has not been due).');
  return h('div', { class: 'scroll' }, h('table', { id: 'decisions' },
    h('thead', {}, h('tr', {}, ['When', 'Why', 'Plugin', 'Actions', 'Told', 'Fault and fallback'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, [...decisions].reverse().map((d) => h('tr', {},
      h('td', {}, time(d.at)),
      h('td', {}, d.reason, d.note ? h('div', { class: 'muted' }, d.note) : null),
      h('td', {}, d.plugin ? [d.plugin, h('div', { class: 'muted' }, `version ${d.plugin_version || '?'}, ${d.duration_us} µs`)] : h('span', { class: 'muted' }, 'none (route receiver)'),
        d.wake_after ? h('div', { class: 'muted' }, `wake-up in ${d.wake_after}s`) : null),
      h('td', {}, d.actions.length ? h('ul', { class: 'tree' }, d.actions.map((a) => h('li', {}, a))) : '—'),
      h('td', {}, d.receivers.join(', ') || '—'),
      h('td', { class: d.faults.length ? 'error' : '' },
        d.faults.length ? h('ul', { class: 'tree' }, d.faults.map((f) => h('li', {}, f))) : '—',
        d.fallback ? h('div', {}, 'fallback: ', h('strong', {}, d.fallback)) : null))))));
}

function deliveryTable(deliveries) {
  if (!deliveries.length) return h('p', { class: 'muted' }, 'No notification yet.');
  return h('div', { class: 'scroll' }, h('table', { id: 'deliveries' },
    h('thead', {}, h('tr', {}, ['When', 'Receiver', 'Why', 'Outcome', 'Attempts', 'Last error'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, [...deliveries].reverse().map((d) => h('tr', { 'data-outcome': d.outcome },
      h('td', {}, time(d.at)),
      h('td', {}, d.receiver, h('div', { class: 'muted' }, d.integration)),
      h('td', {}, `${d.reason}, ${d.alerts} alert${d.alerts === 1 ? '' : 's'}`),
      h('td', { class: d.outcome === 'sent' ? '' : 'error' }, d.outcome),
      h('td', {}, String(d.attempts)),
      h('td', { class: 'annotation' }, d.last_error || '—'))))));
}
