// The alerts page: every group as the dispatcher groups it (route and group labels), each
// alert with its state and age, narrowed by a filter in Alertmanager's matcher syntax (the
// server matches; the page only suggests names and values), refreshed every 2 seconds.

import { get, filters } from './api.js';
import { h, fill, time, age, labels, safeLink, problem } from './dom.js';
import { parse, format, complete, vocabulary, ofLabels } from './matchers.js';

const POLL_MS = 2000;
/** Groups drawn at first; "Show more" draws as many again, the filter narrows the rest. */
const PAGE_GROUPS = 100;

/** An alert's state as the console names it. */
export function stateOf(alert, group) {
  const s = alert.status || {};
  if ((s.silencedBy || []).length) return 'silenced';
  if ((s.inhibitedBy || []).length) return 'inhibited';
  if (group && group.acknowledgement) return 'acknowledged';
  return 'firing';
}

/** The link to the silence form, its matchers pre-filled. */
export function silenceHref(matchers) {
  const q = new URLSearchParams({ matchers: `{${matchers.map(format).join(', ')}}` });
  return `#/silences/new?${q}`;
}

/** One alert as a list item. */
export function alertItem(alert, group) {
  const state = stateOf(alert, group);
  const a = alert.annotations || {};
  const text = a.summary || a.description || a.message;
  const runbook = a.runbook_url || a.runbook;
  return h('li', { class: 'alert', 'data-fingerprint': alert.fingerprint },
    h('div', { class: 'row' },
      h('span', { class: `badge ${state}` }, state),
      h('strong', {}, alert.labels.alertname || '(no alertname)'),
      h('span', { class: 'muted' }, 'for ', age(alert.startsAt), ', since ', time(alert.startsAt))),
    text ? h('div', { class: 'annotation' }, text) : null,
    labels(alert.labels),
    h('div', { class: 'row' },
      safeLink(alert.generatorURL, 'Source'),
      runbook ? safeLink(runbook, 'Runbook') : null,
      h('a', { href: silenceHref(ofLabels(alert.labels)) }, 'Silence this alert')));
}

export function render(main, params) {
  const initial = params.get('filter') || '';
  const input = h('input', {
    id: 'filter', type: 'search', value: initial, list: 'filter-completions', autocomplete: 'off',
    spellcheck: 'false', placeholder: '{severity=~"crit.*", team="db"}',
    'aria-describedby': 'filter-help',
  });
  const options = h('datalist', { id: 'filter-completions' });
  const status = h('p', { class: 'muted', id: 'alerts-count', role: 'status' });
  const showMuted = h('input', { type: 'checkbox', id: 'show-muted', checked: params.get('muted') !== 'false' });
  const error = h('div', { id: 'filter-error' });
  const list = h('div', { id: 'groups' });
  fill(main,
    h('h1', {}, 'Alerts'),
    h('form', { class: 'filter', role: 'search', on: { submit: (e) => { e.preventDefault(); refresh(); } } },
      h('label', { for: 'filter' }, 'Filter'),
      input, options,
      h('span', { id: 'filter-help', class: 'muted' }, 'Matchers as in Alertmanager: name="value", name!="value", name=~"regex", name!~"regex", comma-separated.'),
      h('span', { class: 'row' }, showMuted, h('label', { for: 'show-muted', class: 'inline' }, 'Show silenced and inhibited alerts')),
      error),
    status, list);

  let known = new Map();
  let shown = PAGE_GROUPS;
  let lastGroups = [];
  let last = '';
  let drawnAt = 0;
  let timer = null;
  let stopped = false;

  const suggest = () => fill(options, complete(input.value, known).map((v) => h('option', { value: v })));

  const pick = (name, value) => {
    const ms = safeParse(input.value) || [];
    ms.push({ name, op: '=', value });
    input.value = `{${ms.map(format).join(', ')}}`;
    refresh();
  };

  async function refresh() {
    clearTimeout(timer);
    const text = input.value.trim();
    const ms = safeParse(text);
    if (ms === null) {
      fill(error, problem(`Not a matcher list: ${parseError(text)}`));
    } else {
      fill(error);
      const address = new URLSearchParams();
      if (text) address.set('filter', text);
      if (!showMuted.checked) address.set('muted', 'false');
      const hash = `#/alerts${address.size ? `?${address}` : ''}`;
      if (location.hash !== hash) history.replaceState(null, '', hash);
      const muted = showMuted.checked ? '' : '&silenced=false&inhibited=false';
      try {
        const groups = await get(`/api/v2/alerts/groups?${filters(ms.map(format))}${muted}`);
        if (stopped) return;
        const alerts = groups.flatMap((g) => g.alerts);
        for (const [k, vs] of vocabulary(alerts)) {
          if (!known.has(k)) known.set(k, new Set());
          for (const v of vs) known.get(k).add(v);
        }
        const seen = JSON.stringify(groups);
        if (seen !== last || Date.now() - drawnAt > 30000) {
          last = seen;
          lastGroups = groups;
          draw();
        }
      } catch (e) {
        if (stopped) return;
        fill(error, problem(String(e.message || e)));
      }
    }
    if (!stopped) timer = setTimeout(refresh, POLL_MS);
  }

  function draw() {
    const groups = lastGroups;
    const count = groups.reduce((n, g) => n + g.alerts.length, 0);
    const states = new Map();
    for (const g of groups) for (const a of g.alerts) states.set(stateOf(a, g), (states.get(stateOf(a, g)) || 0) + 1);
    const byState = ['firing', 'acknowledged', 'silenced', 'inhibited'].filter((s) => states.has(s)).map((s) => `${states.get(s)} ${s}`);
    drawnAt = Date.now();
    fill(status, `${count} alert${count === 1 ? '' : 's'} in ${groups.length} group${groups.length === 1 ? '' : 's'}`
      + (byState.length ? ` (${byState.join(', ')})` : '')
      + (groups.length > shown ? `; the first ${shown} groups shown` : ''));
    const more = groups.length > shown
      ? h('p', {}, h('button', { type: 'button', id: 'more', on: { click: () => { shown += PAGE_GROUPS; draw(); } } },
        `Show ${Math.min(PAGE_GROUPS, groups.length - shown)} more groups`))
      : null;
    fill(list, groups.length ? [groups.slice(0, shown).map((g) => groupCard(g, pick)), more]
      : h('p', { class: 'muted' }, 'Nothing is firing.'));
  }

  input.addEventListener('input', () => {
    suggest();
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
  input.addEventListener('focus', suggest);
  showMuted.addEventListener('change', () => { last = ''; refresh(); });
  refresh();
  return () => { stopped = true; clearTimeout(timer); };
}

function groupCard(g, pick) {
  const groupMatchers = ofLabels(Object.keys(g.labels).length ? g.labels : { alertname: g.alerts[0]?.labels.alertname });
  return h('section', { class: 'card group', 'data-group-key': g.groupKey },
    h('header', {},
      h('h2', {}, labels(g.labels, pick), Object.keys(g.labels).length ? null : '(all alerts of the route)'),
      h('span', { class: 'muted' }, '→ ', g.receiver.name),
      g.acknowledgement ? h('span', { class: 'badge acknowledged', title: g.acknowledgement.comment || '' },
        `acknowledged by ${g.acknowledgement.by}`) : null,
      h('a', { href: `#/group?${new URLSearchParams({ key: g.groupKey })}` }, 'Open group'),
      h('a', { href: silenceHref(groupMatchers) }, 'Silence group')),
    h('ul', { class: 'plain' }, g.alerts.map((a) => alertItem(a, g))));
}

function safeParse(text) {
  try { return parse(text); } catch { return null; }
}

function parseError(text) {
  try { parse(text); return ''; } catch (e) { return e.message; }
}
