// keysafe's Key Manager page: the entries grouped by state, a detail pane, New key, Install
// certificate, Back up, the expiry view and the audit log, all on this server's API
// (docs/API.md). Every value from the store is put in the page as text (textContent), never as
// HTML; the page has no inline script or style (the server's CSP forbids both).
'use strict';

const PAGE_SIZE = 100;  // rows drawn at once: 10,000 entries stay interactive (docs/API.md)

// The groups of the inventory, in the order they are listed: what needs attention first.
const GROUPS = [
  { id: 'pending', label: 'Pending' },
  { id: 'expiring', label: 'Expiring within 30 days' },
  { id: 'expired', label: 'Expired' },
  { id: 'no-key', label: 'No key' },
  { id: 'installed', label: 'Installed' },
];
const GROUP_RANK = new Map(GROUPS.map((g, i) => [g.id, i]));

const state = {
  csrfToken: null,
  entries: [],        // list --json objects, sorted by group then name
  group: 'all',
  filter: '',
  page: 0,
  selected: null,     // name of the entry in the detail pane
  audit: [],          // audit rows, newest first
  auditPage: 0,
};

function $(id) { return document.getElementById(id); }

function showMessage(text) { $('message').textContent = text; }
function showNotice(text) { $('notice').textContent = text; }

// The API's error document, or a stand-in for an answer that is not one.
async function errorOf(response) {
  try {
    const e = (await response.json()).error;
    if (e && e.summary) return e;
  } catch (_) { /* not JSON */ }
  return { code: 'http-' + response.status, summary: 'the server answered ' + response.status, cause: '', fix: '' };
}

function errorLine(e) { return [e.summary, e.cause, e.fix].filter(Boolean).join(' — '); }

class Locked extends Error {}

// One API call. A 401 on anything but the unlock itself means the session is gone (locked by
// another tab or idle too long): the page goes back to the unlock form.
async function api(method, path, body, contentType) {
  const headers = { 'Accept': 'application/json' };
  if (body !== undefined) headers['Content-Type'] = contentType || 'application/json';
  if (method !== 'GET' && state.csrfToken) headers['X-CSRF-Token'] = state.csrfToken;
  const response = await fetch(path, {
    method, headers, credentials: 'same-origin', cache: 'no-store',
    body: body === undefined ? undefined : (contentType ? body : JSON.stringify(body)),
  });
  if (response.status === 401 && path !== '/api/v1/session') {
    showLocked('The session ended (locked or idle too long): unlock again.');
    throw new Locked();
  }
  return response;
}

async function apiJson(path) {
  const response = await api('GET', path);
  if (!response.ok) throw new Error(errorLine(await errorOf(response)));
  return response.json();
}

// --- small DOM helpers ------------------------------------------------------------------

function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  if (className) e.className = className;
  return e;
}

function cell(row, text) { row.appendChild(el('td', text)); }

function date(rfc3339) { return rfc3339 ? rfc3339.slice(0, 10) : '—'; }
function dateTime(rfc3339) { return rfc3339 ? rfc3339.replace('T', ' ').replace('Z', ' UTC') : '—'; }

function groupOf(e) {
  if (e.state === 'pending' || e.state === 'expired' || e.state === 'no-key') return e.state;
  if (e.days_left !== null && e.days_left <= 30) return 'expiring';
  return 'installed';
}

function stateText(e) {
  const g = groupOf(e);
  if (g === 'expiring') return 'expiring in ' + e.days_left + (e.days_left === 1 ? ' day' : ' days');
  if (g === 'no-key') return 'no key';
  return g;
}

// --- locked / unlocked ------------------------------------------------------------------

function showLocked(message) {
  state.csrfToken = null;
  state.entries = [];
  state.selected = null;
  $('entries').querySelector('tbody').replaceChildren();
  $('detail').hidden = true;
  $('backup-dialog').open && $('backup-dialog').close();
  $('unlocked').hidden = true;
  $('lock').hidden = true;
  $('locked').hidden = false;
  if (message) showMessage(message);
  $('passphrase').focus();
}

function showUnlocked() {
  $('locked').hidden = true;
  $('unlocked').hidden = false;
  $('lock').hidden = false;
}

async function refresh() {
  const response = await api('GET', '/api/v1/session');
  if (!response.ok) { showMessage(errorLine(await errorOf(response))); return; }
  const session = await response.json();
  state.csrfToken = session.csrf_token;
  if (!session.unlocked) { showLocked(); return; }
  showUnlocked();
  await loadEntries();
}

async function unlock(event) {
  event.preventDefault();
  const field = $('passphrase');
  const button = event.submitter || $('unlock-form').querySelector('button');
  button.disabled = true;
  showMessage('');
  showNotice('');
  try {
    const response = await api('POST', '/api/v1/session', { passphrase: field.value });
    field.value = '';
    if (!response.ok) { showMessage(errorLine(await errorOf(response))); field.focus(); return; }
    state.csrfToken = (await response.json()).csrf_token;
    showUnlocked();
    showView('keys');
    await loadEntries();
    $('keys-title').focus();
  } finally {
    button.disabled = false;
  }
}

async function lock() {
  const response = await fetch('/api/v1/session', {
    method: 'DELETE', credentials: 'same-origin', cache: 'no-store',
    headers: { 'X-CSRF-Token': state.csrfToken || '' },
  });
  if (!response.ok && response.status !== 401) { showMessage(errorLine(await errorOf(response))); return; }
  showNotice('');
  showLocked('Locked.');
}

// --- views ------------------------------------------------------------------------------

function showView(view) {
  for (const b of document.querySelectorAll('nav.views [data-view]')) {
    if (b.dataset.view === view) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
  $('view-keys').hidden = view !== 'keys';
  $('view-expiry').hidden = view !== 'expiry';
  $('view-audit').hidden = view !== 'audit';
  if (view === 'expiry') loadExpiry().catch(reportFailure);
  if (view === 'audit') loadAudit().catch(reportFailure);
}

function reportFailure(e) {
  if (!(e instanceof Locked)) showMessage(e.message || String(e));
}

// --- the inventory ----------------------------------------------------------------------

async function loadEntries() {
  // The summary holds what the table shows; the detail pane reads the whole entry.
  const entries = await apiJson('/api/v1/entries?summary=true');
  for (const e of entries) e.group = groupOf(e);
  entries.sort((a, b) => (GROUP_RANK.get(a.group) - GROUP_RANK.get(b.group)) ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  state.entries = entries;
  renderGroups();
  renderEntries();
}

function renderGroups() {
  const counts = new Map(GROUPS.map((g) => [g.id, 0]));
  for (const e of state.entries) counts.set(e.group, counts.get(e.group) + 1);
  const box = document.querySelector('.groups');
  const buttons = [{ id: 'all', label: 'All', count: state.entries.length }]
    .concat(GROUPS.map((g) => ({ id: g.id, label: g.label, count: counts.get(g.id) })));
  box.replaceChildren(...buttons.map((g) => {
    const b = el('button', g.label + ' (' + g.count + ')', 'group group-' + g.id);
    b.type = 'button';
    b.dataset.group = g.id;
    b.setAttribute('aria-pressed', String(state.group === g.id));
    return b;
  }));
}

function visibleEntries() {
  const needle = state.filter.toLowerCase();
  return state.entries.filter((e) => (state.group === 'all' || e.group === state.group) &&
    (needle === '' || e.name.toLowerCase().includes(needle)));
}

function renderEntries() {
  const shown = visibleEntries();
  const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
  state.page = Math.min(state.page, pages - 1);
  const first = state.page * PAGE_SIZE;
  const rows = shown.slice(first, first + PAGE_SIZE).map((e) => {
    const row = el('tr');
    row.dataset.group = e.group;
    const name = el('th');
    name.scope = 'row';
    const open = el('button', e.name, 'link');
    open.type = 'button';
    open.dataset.name = e.name;
    if (e.name === state.selected) open.setAttribute('aria-current', 'true');
    name.appendChild(open);
    row.appendChild(name);
    row.appendChild(el('td', stateText(e), 'state'));
    cell(row, date(e.not_after));
    cell(row, e.days_left === null ? '—' : String(e.days_left));
    const backup = el('td');
    backup.appendChild(e.backed_up ? el('span', 'backed up', 'badge ok') : el('span', 'never backed up', 'badge warn'));
    row.appendChild(backup);
    return row;
  });
  $('entries').querySelector('tbody').replaceChildren(...rows);
  const label = state.group === 'all' ? 'All entries' : GROUPS.find((g) => g.id === state.group).label;
  $('entries-caption').textContent = label + (state.filter ? ' matching “' + state.filter + '”' : '');
  $('empty').hidden = shown.length !== 0;
  $('page-info').textContent = shown.length === 0 ? '' :
    'Rows ' + (first + 1) + '–' + Math.min(first + PAGE_SIZE, shown.length) + ' of ' + shown.length;
  $('page-prev').disabled = state.page === 0;
  $('page-next').disabled = state.page >= pages - 1;
}

// --- the detail pane --------------------------------------------------------------------

function addField(list, term, value) {
  list.appendChild(el('dt', term));
  const dd = el('dd', value === null || value === undefined || value === '' ? '—' : String(value));
  list.appendChild(dd);
}

function listItems(list, items, empty) {
  list.replaceChildren(...(items.length ? items : [el('li', empty, 'none')]));
}

function chainVerdict(e) {
  if (e.state === 'pending') return 'no certificate yet';
  if (e.chain_trusted === true) return 'trusted (reached a trust anchor when installed)';
  if (e.chain_trusted === false) return 'not trusted: ' + (e.chain_problem || 'no trust anchor reached');
  return 'not checked';
}

async function openDetail(name, focus) {
  state.selected = name;
  const pane = $('detail');
  $('diagnosis').hidden = true;
  $('install-form').hidden = true;
  $('install-open').setAttribute('aria-expanded', 'false');
  const e = await apiJson('/api/v1/entries/' + encodeURIComponent(name));
  $('detail-title').textContent = e.name;
  const f = $('detail-fields');
  f.replaceChildren();
  addField(f, 'State', stateText(Object.assign({}, e)));
  addField(f, 'Subject', e.subject);
  addField(f, 'DNS names', e.dns.join(', '));
  addField(f, 'IP addresses', e.ip.join(', '));
  addField(f, 'Valid from', dateTime(e.not_before));
  addField(f, 'Valid until', e.not_after ? dateTime(e.not_after) + ' (' + e.days_left + ' days left)' : null);
  addField(f, 'Issuer', e.issuer);
  addField(f, 'Chain', chainVerdict(e));
  addField(f, 'Serial', e.serial);
  addField(f, 'Certificate SHA-256', e.fingerprint_sha256);
  addField(f, 'Key SHA-256 (SPKI)', e.spki_sha256);
  addField(f, 'Key type', e.key_algorithm);
  addField(f, 'Certificates held', e.certificates);
  addField(f, 'Created', dateTime(e.created));
  addField(f, 'Last backup', e.last_backup ? dateTime(e.last_backup) : 'never backed up');
  if (e.acme) addField(f, 'ACME', e.acme.directory + ' (' + e.acme.challenge + ')');

  const request = $('download-request');
  request.hidden = e.state !== 'pending';
  request.href = '/api/v1/entries/' + encodeURIComponent(e.name) + '/request';
  request.setAttribute('download', e.name + '.req');
  $('install-open').hidden = e.state === 'no-key';
  pane.hidden = false;
  for (const b of document.querySelectorAll('#entries button[data-name]')) {
    if (b.dataset.name === name) b.setAttribute('aria-current', 'true');
    else b.removeAttribute('aria-current');
  }
  if (focus) $('detail-title').focus();

  // History, deployments and backups come from the audit log and the deployments list.
  const [audit, deployments] = await Promise.all([
    apiJson('/api/v1/audit'), apiJson('/api/v1/deployments')]);
  if (state.selected !== name) return;
  const mine = audit.entries.filter((r) => r.entry === name).reverse();
  listItems($('detail-history'), mine.map((r) => el('li', dateTime(r.at) + ' ' + r.action + (r.detail ? ': ' + r.detail : '') + ' (' + r.user + ')')), 'no audit rows');
  listItems($('detail-deployments'), deployments.filter((d) => d.name === name).map((d) =>
    el('li', d.target_dir + ' (' + d.layout + ', ' + (d.is_current ? 'current certificate' : 'an older certificate') + ', deployed ' + dateTime(d.deployed_at) + ')')), 'not deployed');
  listItems($('detail-backups'), mine.filter((r) => r.action === 'backed-up').map((r) =>
    el('li', dateTime(r.at) + ' ' + r.detail)), e.last_backup ? 'last backup ' + dateTime(e.last_backup) : 'never backed up');
}

function closeDetail() {
  const name = state.selected;
  state.selected = null;
  $('detail').hidden = true;
  const b = name && document.querySelector('#entries button[data-name="' + CSS.escape(name) + '"]');
  if (b) { b.removeAttribute('aria-current'); b.focus(); }
}

// --- New key ----------------------------------------------------------------------------

function toggleNewKey(open) {
  $('new-key-form').hidden = !open;
  $('new-key').setAttribute('aria-expanded', String(open));
  if (open) { $('new-key-done').hidden = true; $('new-name').focus(); }
}

async function createKey(event) {
  event.preventDefault();
  const name = $('new-name').value.trim();
  const dns = $('new-dns').value.split('\n').map((s) => s.trim()).filter(Boolean);
  const body = { name, dns, key: $('new-key-type').value };
  const button = event.submitter;
  if (button) button.disabled = true;
  try {
    const response = await api('POST', '/api/v1/entries', body);
    if (!response.ok) { showMessage(errorLine(await errorOf(response))); return; }
    const created = await response.json();
    showMessage('');
    showNotice('Created ' + created.name + ': download its request and send it to your CA.');
    $('new-key-form').reset();
    toggleNewKey(false);
    state.group = 'all';
    state.filter = '';
    $('filter').value = '';
    await loadEntries();
    await openDetail(created.name, false);
    $('download-request').focus();
  } finally {
    if (button) button.disabled = false;
  }
}

// --- Install certificate ----------------------------------------------------------------

function showDiagnosis(e) {
  const box = $('diagnosis');
  box.querySelector('.summary').textContent = 'Not installed: ' + e.summary;
  box.querySelector('.cause').textContent = e.cause || '—';
  box.querySelector('.fix').textContent = e.fix || '—';
  box.hidden = false;
}

async function installCertificate(event) {
  event.preventDefault();
  const name = state.selected;
  const file = $('install-file').files[0];
  if (!name || !file) return;
  $('diagnosis').hidden = true;
  const bytes = await file.arrayBuffer();
  const response = await api('POST', '/api/v1/entries/' + encodeURIComponent(name) + '/certificate',
    bytes, 'application/octet-stream');
  if (!response.ok) { showDiagnosis(await errorOf(response)); return; }
  const r = await response.json();
  $('install-form').reset();
  await loadEntries();
  await openDetail(name, true);
  showNotice(r.already_installed ? name + ': this certificate was installed already.'
    : 'Installed the certificate for ' + name + ', valid until ' + dateTime(r.not_after) + '.');
}

// --- Back up ----------------------------------------------------------------------------

function openBackup() {
  const form = $('backup-form');
  form.reset();
  $('backup-error').textContent = '';
  $('backup-one-row').hidden = !state.selected;
  if (state.selected) $('backup-one-label').textContent = 'Only ' + state.selected;
  updateBackupButton();
  $('backup-dialog').showModal();
}

function updateBackupButton() {
  const pass = $('backup-pass').value;
  const ready = $('backup-understand').checked && pass !== '' && pass === $('backup-pass2').value;
  $('backup-download').disabled = !ready;
  $('backup-match').textContent = ready ? 'Ready to download.' :
    !$('backup-understand').checked ? 'Tick “I understand” to go on.' :
      pass === '' ? 'Choose a passphrase for the file.' : 'The two passphrases differ.';
}

function filenameOf(response, fallback) {
  const m = /filename="([^"]+)"/.exec(response.headers.get('Content-Disposition') || '');
  return m ? m[1] : fallback;
}

function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = el('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

async function downloadBackup(event) {
  event.preventDefault();
  updateBackupButton();
  if ($('backup-download').disabled) return;
  const one = $('backup-one').checked && state.selected;
  const body = one ? { names: [state.selected] } : { all: true };
  body.passphrase = $('backup-pass').value;
  body.confirm = true;
  $('backup-download').disabled = true;
  $('backup-error').textContent = '';
  try {
    const response = await api('POST', '/api/v1/backup', body);
    if (!response.ok) { $('backup-error').textContent = errorLine(await errorOf(response)); return; }
    const filename = filenameOf(response, 'keysafe.kbk');
    saveBlob(await response.blob(), filename);
    $('backup-form').reset();
    $('backup-dialog').close();
    showNotice('Backup downloaded as ' + filename + '. Restore it with: keysafe restore ' + filename);
    await loadEntries();
    if (state.selected) await openDetail(state.selected, false);
  } finally {
    updateBackupButton();
  }
}

// --- expiry and audit -------------------------------------------------------------------

async function loadExpiry() {
  const entries = await apiJson('/api/v1/entries?expiring=90');
  entries.sort((a, b) => (a.days_left ?? 0) - (b.days_left ?? 0));
  $('expiry').querySelector('tbody').replaceChildren(...entries.map((e) => {
    const row = el('tr');
    const name = el('th', e.name);
    name.scope = 'row';
    row.appendChild(name);
    row.appendChild(el('td', stateText(e), 'state'));
    cell(row, date(e.not_after));
    cell(row, e.days_left === null ? '—' : String(e.days_left));
    return row;
  }));
  $('expiry-empty').hidden = entries.length !== 0;
}

async function loadAudit() {
  const audit = await apiJson('/api/v1/audit');
  state.audit = audit.entries.reverse();
  state.auditPage = 0;
  renderAudit();
}

function renderAudit() {
  const pages = Math.max(1, Math.ceil(state.audit.length / PAGE_SIZE));
  const first = state.auditPage * PAGE_SIZE;
  $('audit').querySelector('tbody').replaceChildren(...state.audit.slice(first, first + PAGE_SIZE).map((r) => {
    const row = el('tr');
    cell(row, dateTime(r.at));
    cell(row, r.user);
    cell(row, r.action);
    cell(row, r.entry || '—');
    cell(row, r.detail);
    return row;
  }));
  $('audit-info').textContent = state.audit.length === 0 ? 'No audit rows.' :
    'Rows ' + (first + 1) + '–' + Math.min(first + PAGE_SIZE, state.audit.length) + ' of ' + state.audit.length;
  $('audit-prev').disabled = state.auditPage === 0;
  $('audit-next').disabled = state.auditPage >= pages - 1;
}

// --- wiring -----------------------------------------------------------------------------

function on(id, type, handler) {
  $(id).addEventListener(type, (event) => {
    Promise.resolve(handler(event)).catch(reportFailure);
  });
}

document.addEventListener('DOMContentLoaded', () => {
  on('unlock-form', 'submit', unlock);
  on('lock', 'click', lock);
  for (const b of document.querySelectorAll('nav.views [data-view]'))
    b.addEventListener('click', () => showView(b.dataset.view));
  on('new-key', 'click', () => toggleNewKey($('new-key-form').hidden));
  on('new-key-cancel', 'click', () => { toggleNewKey(false); $('new-key').focus(); });
  on('new-key-form', 'submit', createKey);
  document.querySelector('.groups').addEventListener('click', (event) => {
    const b = event.target.closest('button[data-group]');
    if (!b) return;
    state.group = b.dataset.group;
    state.page = 0;
    for (const o of document.querySelectorAll('.groups button'))
      o.setAttribute('aria-pressed', String(o === b));
    renderEntries();
  });
  $('filter').addEventListener('input', () => { state.filter = $('filter').value.trim(); state.page = 0; renderEntries(); });
  $('page-prev').addEventListener('click', () => { state.page--; renderEntries(); });
  $('page-next').addEventListener('click', () => { state.page++; renderEntries(); });
  $('entries').addEventListener('click', (event) => {
    const b = event.target.closest('button[data-name]');
    if (b) openDetail(b.dataset.name, true).catch(reportFailure);
  });
  on('detail-close', 'click', closeDetail);
  on('install-open', 'click', () => {
    const open = $('install-form').hidden;
    $('install-form').hidden = !open;
    $('install-open').setAttribute('aria-expanded', String(open));
    if (open) $('install-file').focus();
  });
  on('install-form', 'submit', installCertificate);
  on('backup', 'click', openBackup);
  for (const id of ['backup-understand', 'backup-pass', 'backup-pass2'])
    $(id).addEventListener('input', updateBackupButton);
  $('backup-understand').addEventListener('change', updateBackupButton);
  on('backup-form', 'submit', downloadBackup);
  $('backup-cancel').addEventListener('click', () => $('backup-dialog').close());
  $('backup-dialog').addEventListener('close', () => { $('backup-pass').value = ''; $('backup-pass2').value = ''; });
  $('audit-prev').addEventListener('click', () => { state.auditPage--; renderAudit(); });
  $('audit-next').addEventListener('click', () => { state.auditPage++; renderAudit(); });
  refresh().catch((e) => { if (!(e instanceof Locked)) showMessage('cannot reach the server: ' + e); });
});
