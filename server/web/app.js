// keysafe's web page: unlock, the table of entries, lock. Talks only to this server's API;
// every value from the store is put in the page as text (textContent), never as HTML.
'use strict';

let csrfToken = null;

function $(id) { return document.getElementById(id); }

function showMessage(text) { $('message').textContent = text; }

// The API's error document as one line: summary, cause and fix.
async function errorText(response) {
  try {
    const body = await response.json();
    const e = body.error;
    return [e.summary, e.cause, e.fix].filter(Boolean).join(' — ');
  } catch (_) {
    return 'the server answered ' + response.status;
  }
}

async function api(method, path, body) {
  const headers = { 'Accept': 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  return fetch(path, {
    method, headers, credentials: 'same-origin', cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

function show(unlocked) {
  $('locked').hidden = unlocked;
  $('unlocked').hidden = !unlocked;
  if (!unlocked) $('passphrase').focus();
}

function cell(row, text) {
  const td = document.createElement('td');
  td.textContent = text;
  row.appendChild(td);
}

async function loadEntries() {
  const response = await api('GET', '/api/v1/entries');
  if (response.status === 401) { csrfToken = null; show(false); return; }
  if (!response.ok) { showMessage(await errorText(response)); return; }
  const entries = await response.json();
  const body = $('entries').querySelector('tbody');
  body.replaceChildren();
  for (const e of entries) {
    const row = document.createElement('tr');
    const name = document.createElement('th');
    name.scope = 'row';
    name.textContent = e.name;
    row.appendChild(name);
    cell(row, e.state);
    cell(row, e.not_after ? e.not_after.slice(0, 10) : '—');
    cell(row, e.days_left === null ? '—' : String(e.days_left));
    cell(row, e.backed_up ? 'yes' : 'never');
    row.dataset.state = e.state;
    body.appendChild(row);
  }
  $('empty').hidden = entries.length !== 0;
}

async function refresh() {
  const response = await api('GET', '/api/v1/session');
  if (!response.ok) { showMessage(await errorText(response)); return; }
  const session = await response.json();
  csrfToken = session.csrf_token;
  show(session.unlocked);
  if (session.unlocked) await loadEntries();
}

async function unlock(event) {
  event.preventDefault();
  const field = $('passphrase');
  const button = event.submitter || $('unlock-form').querySelector('button');
  button.disabled = true;
  showMessage('');
  try {
    const response = await api('POST', '/api/v1/session', { passphrase: field.value });
    field.value = '';
    if (!response.ok) { showMessage(await errorText(response)); field.focus(); return; }
    csrfToken = (await response.json()).csrf_token;
    show(true);
    await loadEntries();
  } finally {
    button.disabled = false;
  }
}

async function lock() {
  const response = await api('DELETE', '/api/v1/session');
  if (!response.ok && response.status !== 401) { showMessage(await errorText(response)); return; }
  csrfToken = null;
  $('entries').querySelector('tbody').replaceChildren();
  showMessage('Locked.');
  show(false);
}

document.addEventListener('DOMContentLoaded', () => {
  $('unlock-form').addEventListener('submit', unlock);
  $('lock').addEventListener('click', lock);
  refresh().catch((e) => showMessage('cannot reach the server: ' + e));
});
