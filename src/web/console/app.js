// The console's shell: sign-in and sign-out, and switching between views.
import { api, onSignedOut, notice } from './api.js';
import { fill } from './dom.js';
import { showDisconnects, showPrograms, showSubscriptions, showUsers } from './manage.js';
import { showOverview } from './overview.js';
import { showSessions } from './sessions.js';

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @type {(() => void) | undefined} */
let stopView;

/** @param {string} name @param {{ user?: string, program?: string }} [filter] */
function go(name, filter) {
  stopView?.();
  stopView = undefined;
  notice();
  for (const b of document.querySelectorAll('nav button')) b.classList.toggle('active', b.getAttribute('data-view') === name);
  const view = $('view');
  if (name === 'sessions') stopView = showSessions(view, filter);
  else if (name === 'users') void showUsers(view, go);
  else if (name === 'programs') void showPrograms(view);
  else if (name === 'subscriptions') void showSubscriptions(view);
  else if (name === 'disconnects') void showDisconnects(view);
  else stopView = showOverview(view);
  window.location.hash = name;
}

/** @param {string} user */
function signedIn(user) {
  $('sign-in').hidden = true;
  $('nav').hidden = false;
  $('who').hidden = false;
  fill($('who-name'), user);
  go(window.location.hash.slice(1) || 'overview');
}

function signedOut() {
  stopView?.();
  stopView = undefined;
  fill($('view'));
  $('nav').hidden = true;
  $('who').hidden = true;
  $('sign-in').hidden = false;
}

function start() {
  const formEl = /** @type {HTMLFormElement} */ ($('sign-in'));
  formEl.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const data = new window.FormData(formEl);
    fill($('sign-in-error'));
    api('POST', '/v1/console/session', { name: String(data.get('name') ?? ''), password: String(data.get('password') ?? '') }).then(
      (s) => {
        formEl.reset();
        signedIn(s.user);
      },
      (err) => fill($('sign-in-error'), err.message),
    );
  });
  $('sign-out').addEventListener('click', () => {
    api('DELETE', '/v1/console/session').then(signedOut, (err) => notice(err));
  });
  for (const b of document.querySelectorAll('nav button')) b.addEventListener('click', () => go(b.getAttribute('data-view') ?? 'overview'));
  onSignedOut(signedOut);
  api('GET', '/v1/console/session').then(
    (s) => signedIn(s.user),
    () => signedOut(),
  );
}

start();
