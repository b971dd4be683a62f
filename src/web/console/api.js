// The console talks to the control server through its HTTP API only, with the
// session cookie (sent by the browser; never readable here: HttpOnly).

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** @type {Set<() => void>} */
const signedOutListeners = new Set();

/** Called when the server says the session is gone (401): the page shows the sign-in form. @param {() => void} fn */
export function onSignedOut(fn) {
  signedOutListeners.add(fn);
}

/**
 * One API call; resolves with the parsed JSON (undefined for 204), rejects with an ApiError carrying the server's message.
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function api(method, path, body) {
  /** @type {RequestInit} */
  const init = { method, credentials: 'same-origin', headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.headers = { accept: 'application/json', 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'unreachable', 'the control server cannot be reached');
  }
  if (res.status === 204) return undefined;
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = json && typeof json === 'object' && json.error ? json.error : { code: 'http_' + res.status, message: `the server answered ${res.status}` };
    if (res.status === 401 && path !== '/v1/console/session') for (const fn of signedOutListeners) fn();
    throw new ApiError(res.status, String(err.code), String(err.message));
  }
  return json;
}

/** The session is gone (an event stream ended, a check failed): every listener shows the sign-in form. */
export function signedOutNow() {
  for (const fn of signedOutListeners) fn();
}

/** @param {string} s */
export const enc = (s) => encodeURIComponent(s);

/**
 * Shows an error (its message) in the page's notice bar; no argument clears it.
 * @param {unknown} [err]
 */
export function notice(err) {
  const el = document.getElementById('notice');
  if (!el) return;
  if (err === undefined) {
    el.hidden = true;
    el.textContent = '';
    return;
  }
  el.textContent = err instanceof Error ? err.message : String(err);
  el.hidden = false;
}
