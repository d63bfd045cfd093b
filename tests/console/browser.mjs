// The one Chromium of a test run: Debian's /usr/bin/chromium, headless, through playwright-core
// (which downloads no browser). Playwright gives every launch a fresh, temporary profile
// (its own --user-data-dir), removed when the browser closes.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run',
];

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ARGS,
    headless: true,
  });
}

/**
 * A new page (a tab with its own session storage) at `viewport`, whose uncaught errors are
 * collected in `page.errors`.
 */
export async function newPage(browser, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  return page;
}

/** Saves a full-page screenshot as `<dir>/<name>.png`. */
export async function screenshot(page, name) {
  const dir = process.env.SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}
