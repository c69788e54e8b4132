// The Key Manager page's time to interactive on a large store (issue 18: 10,000 entries in
// under 1 s in headless Chromium): time from navigation to the inventory table showing its
// first rows, with an unlocked session, RUNS times; prints each run and the median.
// Usage (bench/serve_ui.sh runs it): node bench/serve_ui.mjs BASE_URL PASSPHRASE_FILE [RUNS]
// Needs tests/browser/node_modules (playwright-core) and /usr/bin/chromium.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../tests/browser/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const [base, passFile, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 7);
const passphrase = readFileSync(passFile, 'utf8').replace(/\n$/, '');

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--ignore-certificate-errors'] });
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  await page.goto(base + '/');
  await page.getByLabel('Passphrase', { exact: true }).fill(passphrase);
  await page.getByRole('button', { name: 'Unlock', exact: true }).click();
  await page.locator('#entries tbody tr').first().waitFor({ timeout: 60000 });
  const total = await page.locator('#page-info').textContent();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = Date.now();
    await page.goto(base + '/');
    await page.locator('#entries tbody tr').first().waitFor({ timeout: 60000 });
    const wall = Date.now() - t0;
    // The page's own clock: from the start of navigation to now (rows shown).
    const inPage = await page.evaluate(() => Math.round(performance.now()));
    // Where the time went: the list's request (server time to first byte, transfer) and the rest.
    const list = await page.evaluate(() => {
      const r = performance.getEntriesByType('resource').find((e) => /\/api\/v1\/entries(\?summary=true)?$/.test(e.name));
      return r && { start: Math.round(r.requestStart), ttfb: Math.round(r.responseStart - r.requestStart), transfer: Math.round(r.responseEnd - r.responseStart) };
    });
    times.push(wall);
    console.log(`run ${i + 1}: ${wall} ms (page clock ${inPage} ms; GET /api/v1/entries sent at ${list.start} ms, first byte after ${list.ttfb} ms, body ${list.transfer} ms), ${total}`);
  }
  // Interactive: the next page of rows and a group button answer at once.
  const t1 = Date.now();
  await page.getByRole('button', { name: 'Next page' }).click();
  await page.locator('#page-info', { hasText: 'Rows 101' }).waitFor();
  console.log(`next page: ${Date.now() - t1} ms`);
  times.sort((a, b) => a - b);
  console.log(`median navigation to first rows: ${times[Math.floor(times.length / 2)]} ms over ${runs} runs`);
} finally {
  await browser.close();
}
