// The console's benchmark (not a test; BENCHMARKS.md has the figures): posts 10,000 alerts in
// 1,000 groups to a running campanile (without auth_token), then in headless Chromium times
// the alerts page's first render and a filter down to one group, and weighs the page's assets.
//   node tests/console/bench.mjs http://127.0.0.1:9797

import assert from 'node:assert/strict';
import { launch, newPage } from './browser.mjs';

const base = process.argv[2];
assert.ok(base, 'usage: node bench.mjs BASE_URL');
const GROUPS = 1000;
const PER_GROUP = 10;

for (let chunk = 0; chunk < GROUPS / 100; chunk += 1) {
  const alerts = [];
  for (let g = chunk * 100; g < (chunk + 1) * 100; g += 1) {
    for (let i = 0; i < PER_GROUP; i += 1) {
      alerts.push({
        labels: { alertname: `Load${g}`, instance: `i${i}`, severity: ['critical', 'warning', 'info'][i % 3], team: `t${g % 20}` },
        annotations: { summary: `load alert ${g}/${i}` },
      });
    }
  }
  const r = await fetch(`${base}/api/v2/alerts`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(alerts) });
  assert.ok(r.ok, `POST /api/v2/alerts: ${r.status}`);
}

const browser = await launch();
const page = await newPage(browser);
const total = GROUPS * PER_GROUP;
let t0 = performance.now();
await page.goto(`${base}/#/alerts`);
await page.locator('#alerts-count', { hasText: `${total} alerts in ${GROUPS} groups` }).waitFor({ timeout: 120000 });
const first = performance.now() - t0;
const fetchMs = await page.evaluate(() => performance.getEntriesByType('resource')
  .filter((r) => r.name.includes('/api/v2/alerts/groups'))[0].duration);
t0 = performance.now();
await page.fill('#filter', '{alertname="Load7"}');
await page.locator('#alerts-count', { hasText: `${PER_GROUP} alerts in 1 group` }).waitFor({ timeout: 120000 });
const filter = performance.now() - t0;
const assets = await page.evaluate(() => performance.getEntriesByType('resource')
  .filter((r) => new URL(r.name).pathname.startsWith('/console/'))
  .reduce((n, r) => n + r.encodedBodySize, 0));
const html = (await (await fetch(`${base}/`)).arrayBuffer()).byteLength;
console.log(`first render: ${first.toFixed(0)} ms (of which the groups request ${fetchMs.toFixed(0)} ms)`);
console.log(`filter to one group: ${filter.toFixed(0)} ms (a 300 ms typing pause included)`);
console.log(`assets: ${assets + html} bytes`);
await browser.close();
