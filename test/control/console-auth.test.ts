/**
 * The console's sign-in and its cookie, over real HTTP and as an attacker
 * would act: no cookie, a forged or fixed cookie, a foreign Origin, a
 * cross-site fetch, a guess flood, a reused cookie after sign-out or after the
 * password changed, malformed input. Each answer is in the API's one shape.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CONSOLE_IDLE_MS } from '../../src/control/console-sessions.js';
import { hashPassword } from '../../src/control/passwords.js';
import { ADMIN_PASSWORD, adminAuth, startServer, type Harness } from './helpers.js';

let h: Harness;
let base: string;

before(async () => {
  h = await startServer();
  base = await h.server.listen(0);
});

after(async () => {
  await h.close();
});

interface Answer {
  status: number;
  body: { error?: { code: string; message: string } } & Record<string, unknown>;
  headers: Headers;
}

async function call(method: string, path: string, opts: { cookie?: string; origin?: string | null; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  Object.assign(headers, opts.headers);
  if (opts.cookie !== undefined) headers['cookie'] = opts.cookie;
  // A browser sends its page's Origin on every write; the default is the console's own.
  if (opts.origin !== null) headers['origin'] = opts.origin ?? base;
  const res = await fetch(base + path, { method, headers, body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body), redirect: 'manual' });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Answer['body']) : {}, headers: res.headers };
}

async function signIn(name = 'admin', password = ADMIN_PASSWORD): Promise<{ cookie: string; setCookie: string }> {
  const res = await call('POST', '/v1/console/session', { body: { name, password } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const setCookie = res.headers.get('set-cookie') ?? '';
  const m = /^(gatecast_console=[A-Za-z0-9_-]{43});/.exec(setCookie);
  assert.ok(m?.[1], `a session cookie: ${setCookie}`);
  return { cookie: m[1], setCookie };
}

function assertErrorShape(res: Answer, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error?.code, code);
  assert.equal(typeof res.body.error?.message, 'string');
  assert.ok((res.body.error?.message ?? '').length > 0);
}

test('sign-in sets an HttpOnly, SameSite=Strict, Path=/ cookie holding 32 random bytes, and it opens the admin API', async () => {
  const { cookie, setCookie } = await signIn();
  assert.match(setCookie, /; HttpOnly/);
  assert.match(setCookie, /; SameSite=Strict/);
  assert.match(setCookie, /; Path=\//);
  assert.doesNotMatch(setCookie, /Secure/, 'plain HTTP: not Secure (TLS: __Host- and Secure)');
  const again = await signIn();
  assert.notEqual(again.cookie, cookie, 'every sign-in gets a fresh id');
  const me = await call('GET', '/v1/console/session', { cookie });
  assert.equal(me.status, 200);
  assert.equal(me.body['user'], 'admin');
  const sessions = await call('GET', '/v1/admin/sessions', { cookie });
  assert.equal(sessions.status, 200);
  assert.ok(Array.isArray(sessions.body['sessions']));
  const add = await call('POST', '/v1/admin/users', { cookie, body: { name: 'viewer-1', password: 'pw-1' } });
  assert.equal(add.status, 201, JSON.stringify(add.body));
});

test('no cookie, or a cookie the server never made: 401 in the error shape, with no Basic challenge on the console routes', async () => {
  assertErrorShape(await call('GET', '/v1/console/session'), 401, 'login_required');
  assertErrorShape(await call('DELETE', '/v1/console/session'), 401, 'login_required');
  const forged = await call('GET', '/v1/console/session', { cookie: `gatecast_console=${'A'.repeat(43)}` });
  assertErrorShape(forged, 401, 'login_required');
  assert.equal(forged.headers.get('www-authenticate'), null);
  assertErrorShape(await call('GET', '/v1/admin/sessions'), 401, 'unauthorized');
  // A page's fetch (Sec-Fetch-Mode) gets no Basic challenge either: the browser would hold it behind its own dialog.
  const fromPage = await call('GET', '/v1/admin/sessions', { headers: { 'sec-fetch-mode': 'cors', 'sec-fetch-site': 'same-origin' } });
  assertErrorShape(fromPage, 401, 'login_required');
  assert.equal(fromPage.headers.get('www-authenticate'), null);
  assertErrorShape(await call('GET', '/v1/admin/sessions', { cookie: `gatecast_console=${'B'.repeat(43)}` }), 401, 'login_required');
  assertErrorShape(await call('GET', '/v1/admin/users', { cookie: 'gatecast_console=../../etc' }), 401, 'login_required');
});

test('a wrong password is refused like Basic auth, without a browser dialog, and a guess flood is throttled', async () => {
  const wrong = await call('POST', '/v1/console/session', { body: { name: 'admin', password: 'nope' } });
  assertErrorShape(wrong, 401, 'invalid_credentials');
  assert.equal(wrong.body.error?.message, 'wrong admin user name or password');
  assert.equal(wrong.headers.get('set-cookie'), null);
  assert.equal(wrong.headers.get('www-authenticate'), null);
  // A viewer's right password is not an admin's: refused the same way.
  await h.store.createUser({ name: 'plain', passwordHash: await hashPassword('plain-pw'), isAdmin: false, createdAt: h.clock.now() });
  assertErrorShape(await call('POST', '/v1/console/session', { body: { name: 'plain', password: 'plain-pw' } }), 401, 'invalid_credentials');
  let limited: Answer | undefined;
  for (let i = 0; i < 30 && !limited; i++) {
    const res = await call('POST', '/v1/console/session', { body: { name: 'flooded', password: `guess-${i}` } });
    if (res.status === 429) limited = res;
    else assertErrorShape(res, 401, 'invalid_credentials');
  }
  assert.ok(limited, 'the throttle stops the flood');
  assertErrorShape(limited, 429, 'rate_limited');
  assert.ok(Number(limited.headers.get('retry-after')) > 0);
  // The same throttle as Basic auth: the flooded name is locked there too.
  const basic = await fetch(`${base}/v1/admin/users`, { headers: { authorization: adminAuth('guess', 'flooded') } });
  assert.equal(basic.status, 429);
});

test('a foreign Origin, a missing Origin or a cross-site fetch is refused (403) with a valid cookie, and nothing is written', async () => {
  const { cookie } = await signIn();
  const evil = await call('POST', '/v1/admin/users', { cookie, origin: 'http://evil.example', body: { name: 'csrf-user', password: 'x' } });
  assertErrorShape(evil, 403, 'forbidden');
  assertErrorShape(await call('POST', '/v1/admin/users', { cookie, origin: null, body: { name: 'csrf-user', password: 'x' } }), 403, 'forbidden');
  assertErrorShape(await call('POST', '/v1/admin/kick', { cookie, origin: 'null', body: { user: 'admin' } }), 403, 'forbidden');
  // Our host on another port or scheme is another origin.
  const otherPort = base.replace(/:(\d+)$/, (_m, p: string) => `:${Number(p) + 1}`);
  assertErrorShape(await call('DELETE', '/v1/admin/users/viewer-1', { cookie, origin: otherPort }), 403, 'forbidden');
  assertErrorShape(await call('GET', '/v1/admin/users', { cookie, headers: { 'sec-fetch-site': 'cross-site' } }), 403, 'forbidden');
  const users = await call('GET', '/v1/admin/users', { cookie });
  assert.ok(!JSON.stringify(users.body).includes('csrf-user'));
  // Sign-in and sign-out from another site are refused too (login CSRF).
  assertErrorShape(await call('POST', '/v1/console/session', { origin: 'http://evil.example', body: { name: 'admin', password: ADMIN_PASSWORD } }), 403, 'forbidden');
  assertErrorShape(await call('DELETE', '/v1/console/session', { cookie, origin: 'http://evil.example' }), 403, 'forbidden');
  assert.equal((await call('GET', '/v1/console/session', { cookie })).status, 200, 'the refused sign-out ended nothing');
  // Scripts: Basic auth needs no Origin and ignores cookies.
  const script = await fetch(`${base}/v1/admin/users`, { method: 'POST', headers: { authorization: adminAuth(), 'content-type': 'application/json' }, body: JSON.stringify({ name: 'script-user', password: 'x' }) });
  assert.equal(script.status, 201);
});

test('sign-out ends the session server-side: the old cookie is worthless; a fixed id is never adopted', async () => {
  const { cookie } = await signIn();
  const out = await call('DELETE', '/v1/console/session', { cookie });
  assert.equal(out.status, 204);
  assert.match(out.headers.get('set-cookie') ?? '', /^gatecast_console=; .*Max-Age=0/);
  assertErrorShape(await call('GET', '/v1/admin/users', { cookie }), 401, 'login_required');
  assertErrorShape(await call('GET', '/v1/console/session', { cookie }), 401, 'login_required');
  // Fixation: an attacker plants an id, the victim signs in with it; the server issues another one, and the planted one opens nothing.
  const planted = `gatecast_console=${'C'.repeat(43)}`;
  const res = await call('POST', '/v1/console/session', { cookie: planted, body: { name: 'admin', password: ADMIN_PASSWORD } });
  assert.equal(res.status, 201);
  assert.ok(!(res.headers.get('set-cookie') ?? '').includes('C'.repeat(43)));
  assertErrorShape(await call('GET', '/v1/admin/users', { cookie: planted }), 401, 'login_required');
});

test('a session ends when idle too long, and when the admin is no longer what it signed in as', async () => {
  const { cookie } = await signIn();
  h.clock.advance(CONSOLE_IDLE_MS + 1);
  assertErrorShape(await call('GET', '/v1/admin/users', { cookie }), 401, 'login_required');
  const second = await signIn();
  await h.store.setUserPassword('admin', await hashPassword('changed-elsewhere'));
  assertErrorShape(await call('GET', '/v1/admin/users', { cookie: second.cookie }), 401, 'login_required');
  await h.store.setUserPassword('admin', await hashPassword(ADMIN_PASSWORD));
});

test('malformed input to the console routes answers in the error shape', async () => {
  const { cookie } = await signIn();
  assertErrorShape(await call('POST', '/v1/console/session', { body: '{"name":' }), 400, 'invalid_request');
  assertErrorShape(await call('POST', '/v1/console/session', { body: { name: 'admin' } }), 400, 'invalid_request');
  assertErrorShape(await call('POST', '/v1/console/session', { body: { name: 'admin', password: 5 } }), 400, 'invalid_request');
  assertErrorShape(await call('POST', '/v1/console/session', { body: { name: 'x'.repeat(300), password: 'y' } }), 400, 'invalid_request');
  assertErrorShape(await call('POST', '/v1/console/session', { body: 'name=admin', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported_media_type');
  assertErrorShape(await call('PUT', '/v1/admin/users/viewer-1/password', { cookie, body: { password: '' } }), 400, 'invalid_request');
  assertErrorShape(await call('PUT', '/v1/admin/users/nobody/password', { cookie, body: { password: 'p' } }), 404, 'unknown_user');
  assertErrorShape(await call('PUT', '/v1/admin/users/admin/password', { cookie, body: { password: 'p' } }), 403, 'forbidden');
  assertErrorShape(await call('GET', '/console/nope.js'), 404, 'not_found');
  assertErrorShape(await call('GET', '/console/..%2Fcontrol%2Fpasswords.ts'), 404, 'not_found');
});

test('set password through the cookie: the viewer signs in with the new one only', async () => {
  const { cookie } = await signIn();
  assert.equal((await call('PUT', '/v1/admin/users/viewer-1/password', { cookie, body: { password: 'new-pw' } })).status, 204);
  const user = await h.store.getUser('viewer-1');
  const { verifyPassword } = await import('../../src/control/passwords.js');
  assert.equal(await verifyPassword('new-pw', user?.passwordHash ?? ''), true);
  assert.equal(await verifyPassword('pw-1', user?.passwordHash ?? ''), false);
});

test('console pages carry a strict CSP, no framing, and nosniff', async () => {
  const res = await fetch(`${base}/console/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  const csp = res.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  const redirect = await fetch(`${base}/console`, { redirect: 'manual' });
  assert.equal(redirect.status, 308);
  assert.equal(redirect.headers.get('location'), '/console/');
});

test('the overview event stream: 401 without a session, stats while signed in, an end event once signed out', async () => {
  assertErrorShape(await call('GET', '/v1/console/events'), 401, 'login_required');
  const { cookie } = await signIn();
  assertErrorShape(await call('GET', '/v1/console/events', { cookie, headers: { 'sec-fetch-site': 'cross-site' } }), 403, 'forbidden');
  const res = await fetch(`${base}/v1/console/events`, { headers: { cookie } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  const until = async (what: RegExp): Promise<void> => {
    while (!what.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before ${what}: ${text}`);
      text += decoder.decode(value, { stream: true });
    }
  };
  await until(/event: stats\ndata: (\{.*\})\n\n/);
  const first = /event: stats\ndata: (\{.*\})\n\n/.exec(text);
  assert.ok(Array.isArray((JSON.parse(first?.[1] ?? '{}') as { programs?: unknown }).programs));
  assert.equal((await call('DELETE', '/v1/console/session', { cookie })).status, 204);
  h.clock.advance(1500);
  await until(/event: end\n/);
  const { done } = await reader.read();
  assert.equal(done, true, 'the stream closes after its end event');
});
