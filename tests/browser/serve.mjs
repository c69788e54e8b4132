// The web page of keysafe serve in headless Chromium (Debian's, through playwright-core):
// unlock with a wrong then the right passphrase, see the entries table, lock. Screenshots of
// each step go to SHOTS. Usage: node serve.mjs BASE_URL PASSPHRASE_FILE SHOTS_DIR
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const [base, passFile, shots] = process.argv.slice(2);
const passphrase = readFileSync(passFile, 'utf8').replace(/\n$/, '');
let failed = 0;
function check(ok, what) {
  console.log((ok ? 'ok: ' : 'FAIL: ') + what);
  if (!ok) failed++;
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--ignore-certificate-errors'],
});
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  const offSite = [];
  page.on('request', (r) => { if (!r.url().startsWith(base)) offSite.push(r.url()); });

  await page.goto(base + '/');
  const field = page.getByLabel('Passphrase', { exact: true });
  await field.waitFor({ state: 'visible', timeout: 10000 });
  check(await page.getByRole('button', { name: 'Unlock', exact: true }).isVisible(), 'the Unlock button is shown');
  check(!(await page.getByRole('table').isVisible()), 'no table while locked');
  await page.screenshot({ path: `${shots}/1-locked.png` });

  await field.fill('not the passphrase');
  await page.getByRole('button', { name: 'Unlock', exact: true }).click();
  const alert = page.getByRole('alert');
  await alert.filter({ hasText: 'passphrase' }).waitFor({ timeout: 10000 });
  const said = await alert.textContent();
  check(/wrong passphrase/i.test(said), 'a wrong passphrase shows the error: ' + said);
  check(!said.includes('/'), 'the error names no file path');
  check(!(await page.getByRole('table').isVisible()), 'still locked after a wrong passphrase');
  await page.screenshot({ path: `${shots}/2-wrong-passphrase.png` });

  // By keyboard: the passphrase typed and Enter pressed in the field submits the form.
  await field.fill(passphrase);
  await field.press('Enter');
  const table = page.getByRole('table');
  await table.waitFor({ state: 'visible', timeout: 10000 });
  await page.getByRole('row', { name: /www\.example\.com/ }).waitFor({ timeout: 10000 });
  const www = page.getByRole('row', { name: /www\.example\.com/ });
  check(/installed/.test(await www.textContent()), 'www.example.com is shown as installed');
  const pending = page.getByRole('row', { name: /pending\.example\.com/ });
  check(/pending/.test(await pending.textContent()), 'pending.example.com is shown as pending');
  check((await table.locator('tbody tr').count()) === 2, 'one row per entry');
  check(await page.getByRole('button', { name: 'Lock', exact: true }).isVisible(), 'the Lock button is shown when unlocked');
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === '__Host-keysafe-session');
  check(session && session.httpOnly && session.secure && session.sameSite === 'Strict',
    'the session cookie is HttpOnly, Secure, SameSite=Strict');
  check(!(await page.evaluate(() => document.cookie)).includes('keysafe'), 'the page script cannot read the session cookie');
  await page.screenshot({ path: `${shots}/3-unlocked.png` });

  // A reload keeps the session (the cookie) and shows the table again.
  await page.reload();
  await page.getByRole('row', { name: /www\.example\.com/ }).waitFor({ timeout: 10000 });
  check(true, 'a reload stays unlocked');

  await page.getByRole('button', { name: 'Lock', exact: true }).click();
  await page.getByLabel('Passphrase', { exact: true }).waitFor({ state: 'visible', timeout: 10000 });
  check(!(await page.getByRole('table').isVisible()), 'Lock hides the table');
  await page.reload();
  await page.getByLabel('Passphrase', { exact: true }).waitFor({ state: 'visible', timeout: 10000 });
  check(!(await page.getByRole('table').isVisible()), 'after a reload the store is still locked');
  await page.screenshot({ path: `${shots}/4-locked-again.png` });

  // 400 px wide: nothing wider than the window.
  await page.setViewportSize({ width: 400, height: 700 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  check(!overflow, 'readable at 400 px wide (no horizontal scrolling)');

  // The wrong passphrase's 401 is logged by Chromium as a failed load; nothing else may be.
  const unexpected = consoleErrors.filter((e) => !/status of 401 \(Unauthorized\)/.test(e));
  check(unexpected.length === 0, 'no console errors besides the wrong passphrase\'s 401: ' + JSON.stringify(consoleErrors));
  check(offSite.length === 0, 'nothing fetched from another site: ' + JSON.stringify(offSite));
} finally {
  await browser.close();
}
console.log(failed === 0 ? 'all browser checks passed' : `${failed} browser checks failed`);
process.exit(failed === 0 ? 0 : 1);
