// The console's entry point: the pages by their hash route (`#/alerts`, `#/group?key=…`,
// `#/silences`, `#/silences/new?…`, `#/receivers`, `#/status`). Each page module exports
// `render(main, params)`, which may return a function that stops it (a poll) when the page
// is left.

import * as alerts from './alerts.js';
import * as group from './group.js';
import * as silences from './silences.js';
import * as receivers from './receivers.js';
import * as status from './status.js';
import { fill, problem } from './dom.js';

const PAGES = {
  alerts: { module: alerts, nav: 'alerts', title: 'Alerts' },
  group: { module: group, nav: 'alerts', title: 'Group' },
  silences: { module: silences, nav: 'silences', title: 'Silences' },
  'silences/new': { module: { render: silences.renderNew }, nav: 'silences', title: 'New silence' },
  receivers: { module: receivers, nav: 'receivers', title: 'Receivers and plugins' },
  status: { module: status, nav: 'status', title: 'Status' },
};

let stop = null;

function route() {
  const [path, query] = (location.hash.replace(/^#\/?/, '') || 'alerts').split('?');
  const page = PAGES[path] || PAGES.alerts;
  if (stop) stop();
  stop = null;
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.page === page.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${page.title} · campanile`;
  const main = document.getElementById('main');
  fill(main);
  try {
    stop = page.module.render(main, new URLSearchParams(query || '')) || null;
  } catch (e) {
    fill(main, problem(String(e)));
  }
}

window.addEventListener('hashchange', () => {
  route();
  document.getElementById('main').focus({ preventScroll: true });
});
route();
