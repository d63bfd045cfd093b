// Building the page from data, safely: every string becomes a text node (never HTML), and
// attributes are set one by one. Times are shown in the browser's zone, UTC on hover.

/** An element: `h('a', {href: url, class: 'x', on: {click: f}}, 'text', child…)`. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'on') {
      for (const [event, f] of Object.entries(value)) el.addEventListener(event, f);
    } else if (key === 'value' || key === 'checked' || key === 'disabled') {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** The browser's zone and conventions; one formatter, as making one per call is slow. */
const LOCAL = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** A `<time>` in local time with the UTC time as its title. */
export function time(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h('span', {}, iso || '');
  const utc = d.toISOString();
  return h('time', { datetime: utc, title: `${utc.replace('.000Z', 'Z')} (UTC)` }, LOCAL.format(d));
}

/** How long ago `iso` was, shortly ("3m", "2h 5m", "4d"). */
export function age(iso, now = Date.now()) {
  return span(Math.max(0, now - new Date(iso).getTime()) / 1000);
}

/** A number of seconds, shortly. */
export function span(seconds) {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** A label set as chips; `onPick(name, value)` makes each a button. */
export function labels(set, onPick) {
  return h('span', { class: 'labels' }, Object.entries(set || {}).map(([k, v]) =>
    onPick
      ? h('button', { type: 'button', class: 'label', title: `filter on ${k}="${v}"`, on: { click: () => onPick(k, v) } }, `${k}="${v}"`)
      : h('span', { class: 'label' }, `${k}="${v}"`)));
}

/** A link only for http(s) URLs (an alert's generatorURL is sender data). */
export function safeLink(url, text) {
  if (!url) return null;
  try {
    const u = new URL(url, location.href);
    if (u.protocol === 'http:' || u.protocol === 'https:') {
      return h('a', { href: u.href, rel: 'noopener noreferrer', target: '_blank' }, text);
    }
  } catch { /* not a URL */ }
  return null;
}

/** A line saying what went wrong. */
export function problem(message) {
  return h('p', { class: 'error', role: 'alert' }, message);
}
