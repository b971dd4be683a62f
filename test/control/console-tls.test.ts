/**
 * The console over TLS: the cookie is Secure and named __Host- (the browser
 * then refuses it unless Secure, Path=/ and no Domain), the plain-HTTP name is
 * not read there, and the own-origin check uses https://.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { webServerFactory } from '../../src/cli/web-server.js';
import { createControlServer, type ControlServer } from '../../src/control/index.js';
import { systemClock } from '../../src/protocol/system-clock.js';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';
import { makeTestPki, type TestPki } from '../helpers/tls.js';

const ADMIN = 'console-tls-admin';
let pki: TestPki;
let store: SqliteControlStore;
let control: ControlServer;
let base: string;

before(async () => {
  pki = await makeTestPki();
  store = new SqliteControlStore(':memory:');
  control = await createControlServer({ store, clock: systemClock, adminPassword: ADMIN, trackerSecret: 'console-tls-tracker', linkKeepaliveMs: null, webServer: webServerFactory({ tls: { cert: pki.cert, key: pki.key } }) });
  base = await control.listen(0);
});

after(async () => {
  await control.close();
  await store.close();
  pki.cleanup();
});

function call(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, ca: pki.caPem, headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (s: string) => (text += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.once('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

test('over TLS the console cookie is __Host-, Secure, HttpOnly, SameSite=Strict, and only that name is read', async () => {
  assert.match(base, /^https:/);
  const res = await call('POST', '/v1/console/session', { origin: base }, { name: 'admin', password: ADMIN });
  assert.equal(res.status, 201, res.body);
  const setCookie = [res.headers['set-cookie'] ?? []].flat().join('\n');
  const m = /^(__Host-gatecast_console=[A-Za-z0-9_-]{43}); Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/.exec(setCookie);
  assert.ok(m?.[1], setCookie);
  const cookie = m[1];
  assert.equal((await call('GET', '/v1/admin/users', { cookie })).status, 200);
  // The same id under the plain-HTTP name is not a credential here.
  const plain = cookie.replace('__Host-', '');
  assert.equal((await call('GET', '/v1/admin/users', { cookie: plain })).status, 401);
  // Own origin is https://host:port; the http:// one is another origin.
  assert.equal((await call('POST', '/v1/admin/users', { cookie, origin: base.replace('https:', 'http:') }, { name: 'x1', password: 'p' })).status, 403);
  assert.equal((await call('POST', '/v1/admin/users', { cookie, origin: base }, { name: 'x1', password: 'p' })).status, 201);
});
