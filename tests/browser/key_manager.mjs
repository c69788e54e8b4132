// The Key Manager page of keysafe serve in headless Chromium (Debian's, through playwright-core),
// one browser for every step: unlock; New key; download the request; the test's CA signs it
// (openssl x509 -req); Install certificate; the entry shows installed with its detail pane; a
// certificate for a lost key shows install's diagnosis; the Back up dialog (warning, I understand,
// matching passphrases) downloads a backup; the expiry view and the audit log; keyboard use;
// 400 px wide; axe-core on every view (no serious or critical violation). Screenshots of each
// step go to SHOTS.
// Usage: node key_manager.mjs BASE_URL PASSPHRASE_FILE SHOTS_DIR WORK_DIR
// WORK_DIR holds ca.pem/ca.key (tests/lib.sh make_ca) and lost.pem (a certificate for a key the
// store lacks); the request, the certificate and the backup (backup.kbk, passphrase in
// backup.pass) are written there.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const [base, passFile, shots, work] = process.argv.slice(2);
const passphrase = readFileSync(passFile, 'utf8').replace(/\n$/, '');
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const started = Date.now();
let failed = 0;
function check(ok, what) {
  console.log((ok ? 'ok: ' : 'FAIL: ') + what);
  if (!ok) failed++;
  return ok;
}
const T = 10000;  // every wait is bounded

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--ignore-certificate-errors'],
});
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  const offSite = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith('blob:' + base)) offSite.push(r.url());
  });
  let shot = 0;
  const snap = async (what) => { await page.screenshot({ path: `${shots}/${String(++shot).padStart(2, '0')}-${what}.png`, fullPage: true }); };

  // axe-core's source is evaluated through the DevTools protocol: the page's CSP (script-src
  // 'self', no inline script) would refuse it as a <script> tag, and must stay as strict.
  const axe = async (view) => {
    if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(axeSource);
    const result = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
    });
    const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    check(bad.length === 0, `axe-core: no serious or critical violation on the ${view} view` +
      (bad.length ? ': ' + JSON.stringify(bad) : result.length ? ` (minor: ${result.map((v) => v.id).join(', ')})` : ''));
  };

  const button = (name) => page.getByRole('button', { name, exact: true });
  const row = (name) => page.locator('#entries tbody tr').filter({ has: page.getByRole('button', { name, exact: true }) });

  // --- locked, then unlocked --------------------------------------------------------------
  const cspHeader = (await (await page.goto(base + '/')).allHeaders())['content-security-policy'];
  check(/script-src 'self';/.test(cspHeader) && !/unsafe-inline|unsafe-eval/.test(cspHeader), 'the CSP allows no inline script: ' + cspHeader);
  await page.getByLabel('Passphrase', { exact: true }).waitFor({ state: 'visible', timeout: T });
  await axe('unlock');
  await snap('locked');
  await page.getByLabel('Passphrase', { exact: true }).fill(passphrase);
  await button('Unlock').click();
  await page.getByRole('table').waitFor({ state: 'visible', timeout: T });
  await row('www.example.com').waitFor({ timeout: T });
  check(await button('Lock').isVisible(), 'the Lock button is shown when unlocked');
  check((await page.locator('#entries tbody tr').count()) === 2, 'one row per entry (2)');
  check(/installed/.test(await row('www.example.com').locator('td.state').textContent()), 'www.example.com is in the installed group');
  check(/never backed up/.test(await row('www.example.com').textContent()), 'the backup badge says never backed up');
  const groups = await page.getByRole('group', { name: 'Show entries by state' }).textContent();
  for (const g of ['Pending (1)', 'Installed (1)', 'Expiring within 30 days (0)', 'Expired (0)', 'No key (0)'])
    check(groups.includes(g), `the group list shows ${g}`);
  await axe('inventory');
  await snap('unlocked');

  // A group filters the table.
  await button('Pending (1)').click();
  check((await page.locator('#entries tbody tr').count()) === 1 && await row('pending.example.com').isVisible(),
    'the Pending group shows only the pending entry');
  await button('All (2)').click();

  // --- New key, Download request ------------------------------------------------------------
  await button('New key').click();
  await page.getByLabel('Name', { exact: true }).fill('shop.example.com');
  await page.getByLabel('DNS names').fill('shop.example.com\nwww.shop.example.com');
  await page.getByLabel('Key type').selectOption('ec-p384');
  await axe('new key form');
  await snap('new-key-form');
  await button('Create').click();
  await row('shop.example.com').waitFor({ timeout: T });
  check(/pending/.test(await row('shop.example.com').locator('td.state').textContent()), 'the new key is listed as pending');
  const requestLink = page.getByRole('link', { name: 'Download request' });
  await requestLink.waitFor({ state: 'visible', timeout: T });
  await snap('created');
  const [requestDownload] = await Promise.all([page.waitForEvent('download', { timeout: T }), requestLink.click()]);
  check(requestDownload.suggestedFilename() === 'shop.example.com.req', 'the request downloads as shop.example.com.req: ' + requestDownload.suggestedFilename());
  await requestDownload.saveAs(`${work}/shop.req`);
  const req = execFileSync('openssl', ['req', '-in', `${work}/shop.req`, '-noout', '-text'], { encoding: 'utf8' });
  check(/DNS:shop\.example\.com, DNS:www\.shop\.example\.com/.test(req), 'the request holds both DNS names');
  check(/NIST CURVE: P-384|secp384r1/.test(req), 'the request is for the chosen key type (P-384)');

  // --- the CA signs it; Install certificate --------------------------------------------------
  execFileSync('openssl', ['x509', '-req', '-in', `${work}/shop.req`, '-CA', `${work}/ca.pem`, '-CAkey', `${work}/ca.key`,
    '-CAcreateserial', '-days', '60', '-copy_extensions', 'copyall', '-out', `${work}/shop.pem`], { stdio: 'ignore' });
  await button('Install certificate').click();
  await page.getByLabel('Certificate file').setInputFiles(`${work}/shop.pem`);
  await axe('install form');
  await button('Install').click();
  await page.getByRole('status').filter({ hasText: 'Installed the certificate for shop.example.com' }).waitFor({ timeout: T });
  await row('shop.example.com').locator('td.state', { hasText: 'installed' }).waitFor({ timeout: T });
  check(true, 'the entry is shown as installed after the upload');
  const detail = page.getByRole('region', { name: 'shop.example.com' });
  await detail.getByText('CN=ca Test Root').first().waitFor({ timeout: T });
  const detailText = await detail.textContent();
  for (const [what, re] of [['the subject', /Subject.*shop\.example\.com/], ['the SANs', /www\.shop\.example\.com/],
    ['the validity', /Valid until\d{4}-\d\d-\d\d .*\(60 days left\)/], ['the issuer', /IssuerCN=ca Test Root/],
    ['the chain verdict', /Chain(trusted|not trusted)/], ['the fingerprint', /Certificate SHA-256[0-9a-f]{64}/],
    ['the history', /installed/], ['the deployments', /not deployed/], ['the backups', /never backed up/]])
    check(re.test(detailText), `the detail pane shows ${what}`);
  await detail.getByText(/created/).first().waitFor({ timeout: T });
  check(await page.getByRole('link', { name: 'Download request' }).isHidden(), 'an installed entry offers no request download');
  await axe('detail');
  await snap('installed');

  // --- a certificate for a key the store lacks: install's diagnosis ---------------------------
  await row('pending.example.com').getByRole('button').click();
  await page.getByRole('heading', { name: 'pending.example.com' }).waitFor({ timeout: T });
  await button('Install certificate').click();
  await page.getByLabel('Certificate file').setInputFiles(`${work}/lost.pem`);
  await button('Install').click();
  const diagnosis = page.getByRole('alert').filter({ hasText: 'Not installed' });
  await diagnosis.waitFor({ timeout: T });
  const said = await diagnosis.textContent();
  check(/no private key in this keystore matches/.test(said), 'the lost-key upload shows the summary: ' + said.trim().slice(0, 120));
  check(/Cause/.test(said) && /Fix.*restore the key from its backup/s.test(said), 'and the cause and the fix');
  check(!/the server answered/.test(said), 'not a generic error');
  await axe('lost-key diagnosis');
  await snap('lost-key');

  // --- Back up: the dialog, then the file ---------------------------------------------------
  await button('Back up').click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor({ state: 'visible', timeout: T });
  check(/can impersonate the sites/.test(await dialog.textContent()), 'the dialog says whoever holds the file can impersonate the sites');
  const download = dialog.getByRole('button', { name: 'Download backup' });
  check(await download.isDisabled(), 'Download backup is disabled at first');
  await dialog.getByLabel('Backup passphrase').fill('backup pass 1');
  await dialog.getByLabel('Repeat passphrase').fill('backup pass 1');
  check(await download.isDisabled(), 'still disabled with matching passphrases but I understand unchecked');
  await dialog.getByLabel('I understand').check();
  await dialog.getByLabel('Repeat passphrase').fill('backup pass 2');
  check(await download.isDisabled(), 'still disabled when the passphrases differ');
  await dialog.getByLabel('Repeat passphrase').fill('backup pass 1');
  check(await download.isEnabled(), 'enabled when checked and matching');
  await axe('backup dialog');
  await snap('backup-dialog');
  const [backupDownload] = await Promise.all([page.waitForEvent('download', { timeout: 30000 }), download.click()]);
  check(/^keysafe-\d{4}-\d\d-\d\d\.kbk$/.test(backupDownload.suggestedFilename()), 'the backup downloads as keysafe-DATE.kbk: ' + backupDownload.suggestedFilename());
  await backupDownload.saveAs(`${work}/backup.kbk`);
  writeFileSync(`${work}/backup.pass`, 'backup pass 1\n', { mode: 0o600 });
  await dialog.waitFor({ state: 'hidden', timeout: T });
  await row('www.example.com').locator('.badge.ok').waitFor({ timeout: T });
  check(!/never/.test(await row('www.example.com').textContent()), 'after the backup the badge says backed up');
  await snap('backed-up');

  // --- expiry view and audit log ------------------------------------------------------------
  await button('Expiry (next 90 days)').click();
  const expiry = page.getByRole('table', { name: /within 90 days/ });
  await expiry.getByRole('row', { name: /shop\.example\.com/ }).waitFor({ timeout: T });
  check(!(await expiry.getByRole('row', { name: /pending\.example\.com/ }).count()), 'the expiry view leaves pending entries out');
  await axe('expiry');
  await snap('expiry');
  await button('Audit log').click();
  const audit = page.getByRole('table', { name: /Audit log/ });
  await audit.getByRole('row', { name: /backed-up/ }).first().waitFor({ timeout: T });
  check(await audit.getByRole('row', { name: /installed.*shop\.example\.com/ }).count() > 0, 'the audit log shows the install');
  await axe('audit log');
  await snap('audit');

  // --- keyboard: Tab to an entry, Enter opens it; Back up by keyboard, Escape closes --------
  await button('Keys').focus();
  await page.keyboard.press('Enter');
  await page.locator('#view-keys').waitFor({ state: 'visible', timeout: T });
  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement && document.activeElement.dataset &&
      document.activeElement.dataset.name === 'www.example.com');
  }
  check(reached, 'Tab reaches the entry www.example.com');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'www.example.com' }).waitFor({ timeout: T });
  check(await page.evaluate(() => document.activeElement.id === 'detail-title'), 'Enter opens its detail pane and moves the focus there');
  await button('Back up').focus();
  await page.keyboard.press('Enter');
  await dialog.waitFor({ state: 'visible', timeout: T });
  check(await page.evaluate(() => document.getElementById('backup-dialog').contains(document.activeElement)), 'the dialog takes the focus');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden', timeout: T });
  check(await page.evaluate(() => document.activeElement.id === 'backup'), 'Escape closes it and gives the focus back');

  // --- 400 px wide ---------------------------------------------------------------------------
  await page.setViewportSize({ width: 400, height: 800 });
  const overflow = async () => page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  check(!(await overflow()), 'the inventory and detail pane fit 400 px (no horizontal scrolling)');
  await snap('400px');
  await button('Back up').click();
  check(!(await overflow()), 'the backup dialog fits 400 px');
  await page.keyboard.press('Escape');
  await button('Audit log').click();
  check(!(await overflow()), 'the audit log fits 400 px');
  await page.setViewportSize({ width: 1280, height: 800 });

  // --- Lock ----------------------------------------------------------------------------------
  await button('Lock').click();
  await page.getByLabel('Passphrase', { exact: true }).waitFor({ state: 'visible', timeout: T });
  check(!(await page.getByRole('table').first().isVisible()), 'Lock hides the tables');

  // Chromium logs the lost-key upload's 409 as a failed load; nothing else may be logged.
  const unexpected = consoleErrors.filter((e) => !/status of 409 \(Conflict\)/.test(e));
  check(unexpected.length === 0, 'no console errors besides the lost-key 409: ' + JSON.stringify(consoleErrors));
  check(offSite.length === 0, 'nothing fetched from another site: ' + JSON.stringify(offSite));
} catch (e) {
  check(false, 'a step failed: ' + (e && e.stack ? e.stack : e));
} finally {
  await browser.close();
}
console.log(`browser steps took ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(failed === 0 ? 'all browser checks passed' : `${failed} browser checks failed`);
process.exit(failed === 0 ? 0 : 1);
