// The web console in a real browser, against a running campanile (started by the e2e_console
// test binary, tests/console/main.rs, which passes these in the environment):
//   CAMPANILE            base URL of a campanile with server.auth_token = TOKEN (writes need it)
//   CAMPANILE_READ_AUTH  base URL of one with read_auth = true as well (reads need it too)
//   TOKEN, VERSION       the token, and the version the status page must show
//   SCREENSHOTS          the folder each test saves its screenshot in
// One browser serves every test; each test opens its own tab (fresh session storage).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, screenshot } from './browser.mjs';

const BASE = process.env.CAMPANILE;
const READ_AUTH = process.env.CAMPANILE_READ_AUTH;
const TOKEN = process.env.TOKEN;
const VERSION = process.env.VERSION;
assert.ok(BASE && READ_AUTH && TOKEN && VERSION, 'CAMPANILE, CAMPANILE_READ_AUTH, TOKEN and VERSION are set');

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function api(method, path, body, base = BASE) {
  const r = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const postAlerts = (alerts) => api('POST', '/api/v2/alerts', alerts);

/** The list item of the alert named `name` on the alerts page. */
const alertItem = (page, name) => page.locator('li.alert', { has: page.locator('strong', { hasText: new RegExp(`^${name}$`) }) });

/**
 * Answers the token dialog with `token` (or cancels it, for null), and waits for it to close —
 * or, for a token campanile refuses, to ask again saying so.
 */
async function answerToken(page, token, { refused = false } = {}) {
  const dialog = page.locator('#token-dialog');
  await dialog.waitFor({ state: 'visible' });
  if (token === null) {
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  } else {
    await page.fill('#token-input', token);
    await dialog.getByRole('button', { name: 'Use token' }).click();
  }
  if (refused) await page.locator('#token-refused').waitFor({ state: 'visible' });
  else await dialog.waitFor({ state: 'hidden' });
}

test('the status page shows the version', async () => {
  const page = await newPage(browser);
  await page.goto(`${BASE}/#/status`);
  await page.locator('#version', { hasText: `campanile-${VERSION}` }).waitFor();
  // The routing tree, with the plugin deciding a route (and the YAML amtool reads, folded).
  const faulty = page.locator('#routes li[data-route="faulty"]');
  await faulty.waitFor();
  assert.match(await faulty.textContent(), /case="fault".*→ hook · plugin hostile/);
  assert.equal(await page.locator('#routes > li > ul > li').count(), 3, 'the root has three children');
  await page.locator('#config', { hasText: 'route:' }).waitFor({ state: 'attached' });
  await screenshot(page, 'status');
  assert.deepEqual(page.errors, []);
});

test('the page is served with a CSP that blocks inline script', async () => {
  const page = await newPage(browser);
  const response = await page.goto(`${BASE}/`);
  const headers = response.headers();
  assert.match(headers['content-security-policy'], /(^|;)\s*script-src 'self'\s*(;|$)/);
  assert.match(headers['content-security-policy'], /frame-ancestors 'none'/);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  await page.locator('#alerts-count').waitFor();
  const outcome = await page.evaluate(() => new Promise((resolve) => {
    document.addEventListener('securitypolicyviolation', (e) => resolve({ ran: window.inlineRan === true, blocked: e.violatedDirective }));
    const s = document.createElement('script');
    s.textContent = 'window.inlineRan = true;';
    document.body.append(s);
  }));
  assert.equal(outcome.ran, false, 'inline script ran');
  assert.match(outcome.blocked, /^script-src/);
  assert.equal(await page.evaluate(() => window.inlineRan), undefined);
  await screenshot(page, 'alerts-csp');
});

test('an alert posted after the page opened appears without a reload', async () => {
  const page = await newPage(browser);
  await page.goto(`${BASE}/#/alerts`);
  await page.locator('#alerts-count').waitFor();
  await page.evaluate(() => { window.sameDocument = true; });
  await postAlerts([{
    labels: { alertname: 'LiveArrival', severity: 'warning', instance: 'web-1' },
    annotations: { summary: 'arrived while the page was open', runbook_url: 'https://runbooks.example/live' },
    generatorURL: 'http://prometheus.example/graph?g0.expr=up',
  }]);
  const item = alertItem(page, 'LiveArrival');
  await item.waitFor();
  assert.equal(await page.evaluate(() => window.sameDocument), true, 'the page was reloaded');
  assert.equal(await item.locator('.badge').textContent(), 'firing');
  assert.equal(await item.getByRole('link', { name: 'Source' }).getAttribute('href'), 'http://prometheus.example/graph?g0.expr=up');
  assert.equal(await item.getByRole('link', { name: 'Runbook' }).getAttribute('href'), 'https://runbooks.example/live');
  // Times in the browser's zone, UTC on hover.
  assert.match(await item.locator('time').getAttribute('title'), /Z \(UTC\)$/);
  await screenshot(page, 'alerts-live');
  assert.deepEqual(page.errors, []);
});

test('an annotation holding HTML is shown as text and never runs', async () => {
  const hostile = '<script>window.pwned = 1</script><img src="x" onerror="window.pwned = 2"><b>bold</b>';
  await postAlerts([{ labels: { alertname: 'Escaping', severity: 'info' }, annotations: { summary: hostile } }]);
  const page = await newPage(browser);
  await page.goto(`${BASE}/#/alerts`);
  const item = alertItem(page, 'Escaping');
  await item.waitFor();
  assert.equal(await item.locator('.annotation').textContent(), hostile);
  assert.equal(await item.locator('img, b, script').count(), 0);
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  await screenshot(page, 'alerts-escaping');
});

test('the filter narrows the list, with name and value completion', async () => {
  await postAlerts([
    { labels: { alertname: 'FilterCritical', severity: 'critical', team: 'db' } },
    { labels: { alertname: 'FilterMinor', severity: 'minor', team: 'db' } },
  ]);
  const page = await newPage(browser);
  await page.goto(`${BASE}/#/alerts`);
  await alertItem(page, 'FilterCritical').waitFor();
  await alertItem(page, 'FilterMinor').waitFor();

  await page.locator('#filter').pressSequentially('{sev');
  const options = () => page.locator('#filter-completions option').evaluateAll((os) => os.map((o) => o.value));
  await page.waitForFunction(() => [...document.querySelectorAll('#filter-completions option')].some((o) => o.value === '{severity='));
  await page.locator('#filter').pressSequentially('erity=~"cr');
  await page.waitForFunction(() => [...document.querySelectorAll('#filter-completions option')].some((o) => o.value === '{severity=~"critical"'));
  assert.ok(!(await options()).includes('{severity=~"minor"'), 'a value not starting with "cr" is suggested');
  await page.fill('#filter', '{severity=~"crit.*", team="db"}');
  await alertItem(page, 'FilterMinor').waitFor({ state: 'detached' });
  assert.equal(await alertItem(page, 'FilterCritical').count(), 1);
  assert.equal(await alertItem(page, 'LiveArrival').count(), 0);
  // The filter is in the address, so the narrowed page can be shared.
  const [route, query] = new URL(page.url()).hash.split('?');
  assert.equal(route, '#/alerts');
  assert.equal(new URLSearchParams(query).get('filter'), '{severity=~"crit.*", team="db"}');
  await screenshot(page, 'alerts-filtered');

  await page.fill('#filter', '{severity=~"crit');
  await page.locator('#filter-error .error').waitFor();
  assert.deepEqual(page.errors, []);
});

test('a silence created from an alert previews it, then mutes it', async () => {
  // The route of case="mute" waits 15 s before its first notification (tests/console/main.rs);
  // SilenceControl, in the same route and unsilenced, shows the route does notify.
  await postAlerts([
    { labels: { alertname: 'SilenceMe', case: 'mute', instance: 'db-7' } },
    { labels: { alertname: 'SilenceControl', case: 'mute', instance: 'db-8' } },
  ]);
  const page = await newPage(browser);
  await page.goto(`${BASE}/#/alerts`);
  const item = alertItem(page, 'SilenceMe');
  await item.getByRole('link', { name: 'Silence this alert' }).click();
  await page.waitForURL(/#\/silences\/new\?/);
  assert.equal(await page.inputValue('#silence-matchers'), '{alertname="SilenceMe", case="mute", instance="db-7"}');
  const preview = page.locator('#silence-preview');
  await preview.locator('#silence-preview-count', { hasText: 'Would mute 1 alert' }).waitFor();
  assert.equal(await preview.locator('strong').allTextContents().then((t) => t.join()), 'SilenceMe');
  // A preset sets the end a day from now.
  await page.getByRole('button', { name: '1d', exact: true }).click();
  const ends = new Date(await page.inputValue('#silence-ends')).getTime();
  assert.ok(Math.abs(ends - (Date.now() + 86400e3)) < 120e3, `ends ${ends}`);
  await page.fill('#silence-by', 'console-test');
  await page.fill('#silence-comment', 'muted from the console');
  await screenshot(page, 'silence-new');
  await page.click('#silence-save');
  await answerToken(page, TOKEN); // The first write of the tab asks for the token.
  await page.waitForURL(/#\/silences$/);
  const card = page.locator('section[data-state="active"] article.silence', { hasText: 'alertname="SilenceMe"' });
  await card.waitFor();
  await screenshot(page, 'silences');

  const alerts = await api('GET', `/api/v2/alerts?filter=${encodeURIComponent('alertname="SilenceMe"')}`);
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0].status.state, 'suppressed');
  assert.equal(alerts[0].status.silencedBy.length, 1);
  await page.goto(`${BASE}/#/alerts`);
  await alertItem(page, 'SilenceMe').locator('.badge', { hasText: 'silenced' }).waitFor();
  // Hiding muted alerts (the API's silenced=false&inhibited=false) leaves its twin alone.
  await page.uncheck('#show-muted');
  await alertItem(page, 'SilenceMe').waitFor({ state: 'detached' });
  assert.equal(await alertItem(page, 'SilenceControl').count(), 1);
  await page.check('#show-muted');
  await alertItem(page, 'SilenceMe').waitFor();
  assert.deepEqual(page.errors, []);
});

test('a silence is edited: a new one made, the old one expired', async () => {
  const page = await newPage(browser);
  await page.goto(`${BASE}/#/silences`);
  const card = page.locator('section[data-state="active"] article.silence', { hasText: 'alertname="SilenceMe"' });
  const oldId = await card.getAttribute('data-silence-id');
  await card.getByRole('link', { name: 'Edit' }).click();
  await page.waitForFunction(() => document.querySelector('#silence-matchers').value.includes('SilenceMe'));
  await page.fill('#silence-matchers', '{alertname="SilenceMe", case="mute"}');
  await page.fill('#silence-by', 'console-test');
  await page.fill('#silence-comment', 'edited');
  await page.click('#silence-save');
  await answerToken(page, TOKEN);
  await page.waitForURL(/#\/silences$/);
  const edited = page.locator('section[data-state="active"] article.silence', { hasText: 'edited' });
  await edited.waitFor();
  const silences = await api('GET', '/api/v2/silences');
  assert.equal(silences.find((s) => s.id === oldId).status.state, 'expired');
  const newId = await edited.getAttribute('data-silence-id');
  assert.notEqual(newId, oldId);
  const active = silences.find((s) => s.id === newId);
  assert.equal(active.status.state, 'active');
  assert.deepEqual(active.matchers.map((m) => m.name).sort(), ['alertname', 'case']);
  // Nothing is expired here: the silence stays for the mute check of tests/console/main.rs.
  assert.deepEqual(page.errors, []);
});

test('a silence can be made with the keyboard alone', async () => {
  const page = await newPage(browser);
  await page.goto(`${BASE}/#/silences/new?${new URLSearchParams({ matchers: '{alertname="KeyboardOnly"}' })}`);
  await page.locator('#silence-preview-count').waitFor();
  // Tab from the top of the page to the save button: every control on the way is reachable.
  const reached = [];
  for (let i = 0; i < 40 && reached.at(-1) !== 'silence-save'; i += 1) {
    await page.keyboard.press('Tab');
    reached.push(await page.evaluate(() => document.activeElement.id || document.activeElement.textContent.trim()));
  }
  assert.equal(reached.at(-1), 'silence-save', `tabbed through ${reached.join(' → ')}`);
  for (const id of ['silence-matchers', 'silence-ends', 'silence-by', 'silence-comment']) {
    assert.ok(reached.includes(id), `${id} is not reached by Tab: ${reached.join(' → ')}`);
  }
  await page.keyboard.press('Enter');
  await page.locator('#token-input').waitFor();
  await page.keyboard.type(TOKEN);
  await page.keyboard.press('Enter');
  const made = page.locator('section[data-state="active"] article.silence', { hasText: 'alertname="KeyboardOnly"' });
  await made.waitFor();
  await screenshot(page, 'silences-keyboard');
  // Expired from the list, it moves to the expired ones (the API agrees).
  const id = await made.getAttribute('data-silence-id');
  await made.getByRole('button', { name: 'Expire' }).click();
  await page.locator(`section[data-state="expired"] article[data-silence-id="${id}"]`).waitFor();
  assert.equal((await api('GET', `/api/v2/silence/${id}`)).status.state, 'expired');
  assert.deepEqual(page.errors, []);
});

test('writes without the token are refused; with it, acknowledging shows in the API', async () => {
  const key = '{}:{alertname="LiveArrival"}';
  const page = await newPage(browser);
  await page.goto(`${BASE}/#/group?${new URLSearchParams({ key })}`);
  await page.locator('#ack-by').waitFor();
  await page.fill('#ack-by', 'alice');
  await page.fill('#ack-comment', 'looking at it from the console');
  await page.click('#ack-submit');
  await answerToken(page, null); // No token: refused.
  await page.locator('#ack-result .error', { hasText: '401' }).waitFor();
  assert.deepEqual(await api('GET', '/api/v1/groups/acks'), []);

  await page.click('#ack-submit');
  await answerToken(page, 'not-the-token', { refused: true }); // A wrong one: asked again.
  await answerToken(page, TOKEN);
  await page.locator('#ack .badge.acknowledged').waitFor();
  await page.locator('#ack', { hasText: 'alice' }).waitFor();
  const acks = await api('GET', '/api/v1/groups/acks');
  assert.equal(acks.length, 1);
  assert.equal(acks[0].group_key, key);
  assert.equal(acks[0].by, 'alice');
  assert.equal(acks[0].comment, 'looking at it from the console');
  assert.equal(await page.evaluate(() => document.cookie), '', 'no cookie');
  await screenshot(page, 'group-acknowledged');
  await page.goto(`${BASE}/#/alerts`);
  await alertItem(page, 'LiveArrival').locator('.badge', { hasText: 'acknowledged' }).waitFor();
  assert.deepEqual(page.errors, []);
});

test("the decision log of a group whose plugin faulted shows the fault and the fallback", async () => {
  await postAlerts([{ labels: { alertname: 'PluginFaults', case: 'fault' } }]);
  const page = await newPage(browser);
  await page.goto(`${BASE}/#/alerts`);
  const card = page.locator('section.group', { has: alertItem(page, 'PluginFaults') });
  await card.getByRole('link', { name: 'Open group' }).click();
  const row = page.locator('#decisions tbody tr').first();
  await row.waitFor();
  assert.match(await row.textContent(), /hostile/);
  assert.match(await row.locator('td.error').textContent(), /hostile error/);
  assert.equal(await row.locator('td.error strong').textContent(), 'hook');
  await screenshot(page, 'group-fault');

  await page.goto(`${BASE}/#/receivers`);
  const plugin = page.locator('#plugin-table tr[data-plugin="hostile"]');
  await plugin.waitFor();
  assert.match(await plugin.textContent(), /error: [1-9]/);
  await page.locator('#receiver-table tr[data-receiver="hook"]').waitFor();
  await screenshot(page, 'receivers');
  // The reload button reloads the configuration (a write: the tab is asked for the token).
  const reloads = async () => (await (await fetch(`${BASE}/metrics`)).text())
    .split('\n').filter((l) => l.startsWith('campanile_config_reloads_total{') && l.includes('trigger="api"') && l.includes('outcome="success"'))
    .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
  const before = await reloads();
  await page.click('#reload');
  await answerToken(page, TOKEN);
  await page.locator('#reload-result', { hasText: 'Reloaded.' }).waitFor();
  assert.equal(await reloads(), before + 1);
  assert.deepEqual(page.errors, []);
});

test("a refused notification shows in the group's history and as the receiver's last error", async () => {
  await postAlerts([{ labels: { alertname: 'RefusedDelivery', case: 'broken' } }]);
  const page = await newPage(browser);
  const key = '{}/{case="broken"}:{alertname="RefusedDelivery"}';
  await page.goto(`${BASE}/#/group?${new URLSearchParams({ key })}`);
  const row = page.locator('#deliveries tbody tr[data-outcome="failed"]');
  await row.waitFor();
  assert.match(await row.textContent(), /broken/);
  assert.equal(await row.locator('td').nth(4).textContent(), '1', 'a 400 is not retried');
  assert.equal(await row.locator('td').nth(5).textContent(), 'endpoint answered 400: bad payload');
  await screenshot(page, 'group-deliveries');

  await page.goto(`${BASE}/#/receivers`);
  const receiver = page.locator('#receiver-table tr[data-receiver="broken"]');
  await receiver.locator('td.error', { hasText: 'endpoint answered 400: bad payload' }).waitFor();
  assert.match(await receiver.locator('th').textContent(), /webhook/);
  assert.equal(await page.locator('#receiver-table tr[data-receiver="hook"] td').last().textContent(), '—');
  assert.deepEqual(page.errors, []);
});

test('with read_auth, the console asks for the token to read', async () => {
  const page = await newPage(browser);
  await page.goto(`${READ_AUTH}/#/status`);
  await page.locator('#token-dialog').waitFor({ state: 'visible' });
  await screenshot(page, 'token-dialog');
  // Cancelled: the page says why it is empty, and asks again only when told to.
  await answerToken(page, null);
  await page.locator('#status .error', { hasText: '401' }).waitFor();
  await page.getByRole('button', { name: 'Enter the API token' }).click();
  await answerToken(page, TOKEN);
  await page.locator('#version', { hasText: `campanile-${VERSION}` }).waitFor();
  assert.equal(await page.locator('#notice').isHidden(), true);
  assert.deepEqual(page.errors, []);
});

test('every page fits a 360-pixel-wide screen', async () => {
  const page = await newPage(browser, { width: 360, height: 740 });
  await postAlerts([{
    labels: { alertname: 'AVeryLongAlertNameThatWouldOverflowANarrowPhoneScreenIfItWereNotWrapped', pod: 'x'.repeat(80) },
    annotations: { description: 'y'.repeat(300) },
  }]);
  const key = '{}:{alertname="LiveArrival"}';
  for (const [name, hash] of [
    ['alerts', '#/alerts'], ['group', `#/group?${new URLSearchParams({ key })}`], ['silences', '#/silences'],
    ['silence-new', '#/silences/new'], ['receivers', '#/receivers'], ['status', '#/status'],
  ]) {
    await page.goto(`${BASE}/${hash}`);
    await page.locator('main h1').waitFor();
    await page.waitForLoadState('networkidle');
    const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
    assert.ok(scroll <= width, `${name}: the page is ${scroll} px wide on a ${width} px screen`);
    // Nor is anything cut off at the right edge (outside the tables and code that scroll).
    const cut = await page.evaluate(() => [...document.querySelectorAll('main *')]
      .filter((el) => !el.closest('.scroll, pre') && el.getBoundingClientRect().right > window.innerWidth + 1)
      .map((el) => `${el.tagName.toLowerCase()}.${el.className}: ${(el.textContent || '').slice(0, 40)}`));
    assert.deepEqual(cut, [], `${name}: cut off at the right edge`);
    await screenshot(page, `phone-${name}`);
  }
  assert.deepEqual(page.errors, []);
  // The dark theme follows the system's.
  const background = () => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  const light = await background();
  await page.emulateMedia({ colorScheme: 'dark' });
  const dark = await background();
  const luminance = (rgb) => rgb.match(/\d+/g).slice(0, 3).map(Number).reduce((a, b) => a + b, 0);
  assert.ok(luminance(dark) < 100 && luminance(light) > 600, `light ${light}, dark ${dark}`);
  await screenshot(page, 'phone-status-dark');
});
