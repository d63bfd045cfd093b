// Silences: the list (active, pending, expired) with expire and edit, and the form that creates
// one — matchers pre-filled from an alert or a group, duration presets, and a preview of the
// alerts it would mute, asked of the server (`GET /api/v2/alerts?filter=`) before saving. Edit
// works as in Alertmanager's UI: the new silence is created, then the old one expired.

import { get, post, del, filters } from './api.js';
import { h, fill, time, labels, problem, span } from './dom.js';
import { parse, format, toSilence, fromSilence } from './matchers.js';

const ORDER = ['active', 'pending', 'expired'];
const PRESETS = [['1h', 3600], ['4h', 4 * 3600], ['1d', 86400], ['1w', 7 * 86400]];
const BY_KEY = 'campanile.ackBy';

export function render(main) {
  const body = h('div', { id: 'silences' });
  fill(main, h('h1', {}, 'Silences'), h('p', {}, h('a', { class: 'button', href: '#/silences/new' }, 'New silence')), body);
  load(body);
}

async function load(body) {
  try {
    const all = await get('/api/v2/silences');
    const by = (s) => ORDER.indexOf(s.status.state);
    all.sort((a, b) => by(a) - by(b) || b.endsAt.localeCompare(a.endsAt));
    fill(body, ORDER.map((state) => {
      const some = all.filter((s) => s.status.state === state);
      return h('section', { 'data-state': state },
        h('h2', {}, `${state[0].toUpperCase()}${state.slice(1)} (${some.length})`),
        some.length ? some.map((s) => card(s, body)) : h('p', { class: 'muted' }, 'None.'));
    }));
  } catch (e) {
    fill(body, problem(String(e.message || e)));
  }
}

function card(s, body) {
  const message = h('div');
  const expire = async () => {
    try {
      await del(`/api/v2/silence/${encodeURIComponent(s.id)}`);
      load(body);
    } catch (e) {
      fill(message, problem(String(e.message || e)));
    }
  };
  return h('article', { class: 'card silence', 'data-silence-id': s.id },
    h('header', {}, h('span', { class: `badge ${s.status.state}` }, s.status.state),
      h('span', { class: 'labels' }, s.matchers.map((m) => h('span', { class: 'label' }, format(fromSilence(m)))))),
    h('div', { class: 'alert' },
      h('p', { class: 'muted' }, 'from ', time(s.startsAt), ' until ', time(s.endsAt), ` — by ${s.createdBy}`),
      s.comment ? h('p', { class: 'annotation' }, s.comment) : null,
      h('p', { class: 'actions' },
        s.status.state !== 'expired' ? h('button', { type: 'button', class: 'expire', on: { click: expire } }, 'Expire') : null,
        h('a', { class: 'button', href: `#/silences/new?${new URLSearchParams({ edit: s.id })}` },
          s.status.state === 'expired' ? 'Re-create' : 'Edit')),
      message));
}

/** The form for a new silence (`?matchers={…}`), or for editing one (`?edit=<id>`). */
export function renderNew(main, params) {
  const editing = params.get('edit');
  const matchers = h('input', { id: 'silence-matchers', class: 'wide', required: true, spellcheck: 'false', value: params.get('matchers') || '', 'aria-describedby': 'silence-matchers-help' });
  const ends = h('input', { id: 'silence-ends', type: 'datetime-local', required: true });
  // Defaults, so a silence can be made with the mouse alone.
  const by = h('input', { id: 'silence-by', required: true, value: localStorage.getItem(BY_KEY) || 'console', autocomplete: 'nickname' });
  const comment = h('textarea', { id: 'silence-comment', rows: 2, required: true, value: 'Silenced from the campanile console' });
  const preview = h('div', { id: 'silence-preview', 'aria-live': 'polite' });
  const message = h('div', { id: 'silence-result' });
  const setDuration = (seconds) => { ends.value = localInput(new Date(Date.now() + seconds * 1000)); };
  setDuration(PRESETS[0][1]);

  let timer = null;
  const previewSoon = () => { clearTimeout(timer); timer = setTimeout(showPreview, 250); };
  async function showPreview() {
    let ms;
    try { ms = parse(matchers.value); } catch (e) { fill(preview, problem(e.message)); return; }
    if (!ms.length) { fill(preview, h('p', { class: 'muted' }, 'Give at least one matcher.')); return; }
    try {
      const alerts = await get(`/api/v2/alerts?${filters(ms.map(format))}`);
      fill(preview,
        h('p', { id: 'silence-preview-count' }, `Would mute ${alerts.length} alert${alerts.length === 1 ? '' : 's'} firing now:`),
        h('ul', { class: 'plain' }, alerts.slice(0, 50).map((a) => h('li', { class: 'alert' }, h('strong', {}, a.labels.alertname || ''), labels(a.labels)))));
    } catch (e) {
      fill(preview, problem(String(e.message || e)));
    }
  }
  matchers.addEventListener('input', previewSoon);

  async function save(e) {
    e.preventDefault();
    let ms;
    try { ms = parse(matchers.value); } catch (err) { fill(message, problem(err.message)); return; }
    localStorage.setItem(BY_KEY, by.value.trim());
    const silence = {
      matchers: ms.map(toSilence),
      startsAt: new Date().toISOString(),
      endsAt: new Date(ends.value).toISOString(),
      createdBy: by.value.trim(),
      comment: comment.value,
    };
    try {
      const made = await post('/api/v2/silences', silence);
      if (editing) await del(`/api/v2/silence/${encodeURIComponent(editing)}`);
      fill(message, h('p', { role: 'status' }, `Silence ${made.silenceID} saved.`));
      location.hash = '#/silences';
    } catch (err) {
      fill(message, problem(String(err.message || err)));
    }
  }

  fill(main,
    h('h1', {}, editing ? 'Edit silence' : 'New silence'),
    editing ? h('p', { class: 'muted' }, 'Saving creates a new silence and expires the one edited, as Alertmanager does.') : null,
    h('form', { id: 'silence-form', on: { submit: save } },
      h('label', { for: 'silence-matchers' }, 'Matchers'), matchers,
      h('span', { id: 'silence-matchers-help', class: 'muted' }, 'For example {alertname="DiskFull", instance=~"db-.*"}'),
      h('label', { for: 'silence-ends' }, 'Ends'),
      h('div', { class: 'presets' }, ends, PRESETS.map(([name, seconds]) => h('button', {
        type: 'button', title: `ends ${span(seconds)} from now`, on: { click: () => setDuration(seconds) },
      }, name))),
      h('label', { for: 'silence-by' }, 'Created by'), by,
      h('label', { for: 'silence-comment' }, 'Comment'), comment,
      h('h2', {}, 'Preview'), preview,
      h('p', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'silence-save' }, 'Save silence'),
        h('a', { class: 'button', href: '#/silences' }, 'Cancel')),
      message));

  if (editing) {
    get(`/api/v2/silence/${encodeURIComponent(editing)}`).then((s) => {
      matchers.value = `{${s.matchers.map((m) => format(fromSilence(m))).join(', ')}}`;
      comment.value = s.comment;
      if (new Date(s.endsAt) > new Date()) ends.value = localInput(new Date(s.endsAt));
      showPreview();
    }, (err) => fill(message, problem(String(err.message || err))));
  } else {
    showPreview();
  }
  return () => clearTimeout(timer);
}

/** A date as a `datetime-local` input's value, in the browser's zone. */
function localInput(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
