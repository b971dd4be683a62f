/**
 * Trackers' own credentials on the control link (issue 12), attacked over real
 * sockets: a tracker holding credential A cannot say hello as B; a wrong
 * secret for a real id is refused and throttled like any password; a revoked
 * credential's live link is closed (on the control server that revoked it at
 * once, on another one sharing the database at its re-check) and its redial
 * refused; the shared secret works when on and is refused when off; neither
 * the list nor the log shows a secret.
 */
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { ManualClock } from '../../src/core/clock.js';
import { DEFAULTS } from '../../src/core/config.js';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';
import { CREDENTIAL_MISMATCH_CLOSE, CREDENTIAL_REVOKED_CLOSE } from '../../src/control/tracker-credentials.js';
import { admin, FakeTracker, startServer, TRACKER_SECRET, type Harness } from './helpers.js';

/** One upgrade attempt: 101 when it opened (then closed), else the HTTP status it was refused with. */
async function status(url: string, bearer: string): Promise<number> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${DEFAULTS.controlLinkPath}`, { headers: { authorization: `Bearer ${bearer}` } });
  ws.on('error', () => undefined);
  const outcome = await Promise.race([
    once(ws, 'open').then(() => 101),
    (once(ws, 'unexpected-response') as Promise<[unknown, IncomingMessage]>).then(([, res]) => res.statusCode ?? 0),
  ]);
  ws.terminate();
  return outcome;
}

/** Waits for the link to close; its close code. */
async function closedWith(t: FakeTracker): Promise<number> {
  if (t.ws.readyState === WebSocket.CLOSED) throw new Error('already closed: its code is lost');
  const [code] = (await once(t.ws, 'close')) as [number, Buffer];
  return code;
}

async function addCredential(h: Harness, id: string): Promise<string> {
  const r = await admin(h, 'POST', '/v1/admin/trackers/credentials', { id });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const credential = r.body?.['credential'];
  assert.equal(typeof credential, 'string');
  return credential as string;
}

describe('tracker credentials on the control link', { timeout: 20_000 }, () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function server(opts: Parameters<typeof startServer>[0] = {}): Promise<Harness & { url: string }> {
    const h = await startServer(opts);
    cleanups.push(() => h.close());
    return { ...h, url: await h.server.listen(0) };
  }
  async function link(url: string, bearer: string): Promise<FakeTracker> {
    const t = await FakeTracker.connect(url, bearer);
    cleanups.push(() => t.close());
    return t;
  }

  it('a tracker with credential A saying hello as B is closed (4403) and B stays free; as A it is welcomed', async () => {
    const h = await server();
    const a = await addCredential(h, '10.0.0.1:8701');
    await addCredential(h, '10.0.0.2:8701');
    assert.match(a, /^10\.0\.0\.1:8701\.gct_[A-Za-z0-9_-]{43}$/);

    const impostor = await link(h.url, a);
    const closing = closedWith(impostor);
    impostor.send({ type: 'hello', tracker_id: '10.0.0.2:8701', announce_url: 'http://evil/announce', ws_url: 'ws://evil/ws', sessions: [] });
    assert.equal(await closing, CREDENTIAL_MISMATCH_CLOSE);
    assert.equal(h.server.registry.get('10.0.0.2:8701'), undefined, 'the impostor never held B');

    const honest = await link(h.url, a);
    assert.equal((await honest.hello('10.0.0.1:8701')).type, 'welcome');
    assert.equal(h.server.registry.get('10.0.0.1:8701')?.info.announceUrl, 'http://127.0.0.1:6969/announce');
  });

  it('refuses a wrong secret for a valid id (401), an unknown id (401), and throttles the address (429) even for the right credential', async () => {
    const h = await server();
    const good = await addCredential(h, 't1');
    const wrong = `t1.gct_${'A'.repeat(43)}`;
    assert.equal(await status(h.url, wrong), 401);
    assert.equal(await status(h.url, `nobody.gct_${'B'.repeat(43)}`), 401);
    const limit = DEFAULTS.loginFailuresPerAddress;
    for (let i = 2; i < limit; i++) assert.equal(await status(h.url, wrong), 401);
    assert.equal(await status(h.url, wrong), 429, 'past the limit the address is throttled');
    assert.equal(await status(h.url, good), 429, 'the right credential too, until the window passes');
    h.clock.advance(DEFAULTS.loginWindowMs + 1);
    assert.equal(await status(h.url, good), 101);
  });

  it('revoking closes the live link at once (4401), refuses its redial, and a new credential for the id works again', async () => {
    const h = await server();
    const c = await addCredential(h, 't1');
    const t = await link(h.url, c);
    assert.equal((await t.hello('t1')).type, 'welcome');
    const closing = closedWith(t);
    const r = await admin(h, 'DELETE', '/v1/admin/trackers/credentials/t1');
    assert.equal(r.status, 200);
    assert.equal(r.body?.['links_closed'], 1);
    assert.equal(typeof r.body?.['revoked_at'], 'string');
    assert.equal(await closing, CREDENTIAL_REVOKED_CLOSE);
    assert.equal(await status(h.url, c), 401, 'the revoked credential is refused');
    assert.equal((await admin(h, 'DELETE', '/v1/admin/trackers/credentials/nope')).status, 404);

    const again = await addCredential(h, 't1');
    assert.notEqual(again, c);
    assert.equal(await status(h.url, c), 401, 'the old secret stays refused');
    assert.equal(await status(h.url, again), 101);
  });

  it('a revocation through one control server closes the link held by another on the same database at its re-check', async () => {
    const store = new SqliteControlStore(':memory:');
    const clock = new ManualClock(Date.now());
    const a = await server({ store, clock, credentialCheckMs: 2_000 });
    const b = await startServer({ store, clock, credentialCheckMs: 2_000 });
    cleanups.push(() => b.server.close());
    const bUrl = await b.server.listen(0);
    const c = await addCredential(a, 't1');
    const t = await link(bUrl, c);
    assert.equal((await t.hello('t1')).type, 'welcome');
    const closing = closedWith(t);
    assert.equal((await admin(a, 'DELETE', '/v1/admin/trackers/credentials/t1')).body?.['links_closed'], 0, 'not held by a');
    clock.advance(2_000);
    assert.equal(await closing, CREDENTIAL_REVOKED_CLOSE);
    assert.equal(await status(bUrl, c), 401);
  });

  it('the shared secret works when on (any id) and is refused when off, while credentials work either way', async () => {
    const on = await server();
    const shared = await link(on.url, TRACKER_SECRET);
    assert.equal((await shared.hello('any-id')).type, 'welcome');

    const off = await server({ trackerSecret: null });
    assert.equal(await status(off.url, TRACKER_SECRET), 401);
    const c = await addCredential(off, 't9');
    const t = await link(off.url, c);
    assert.equal((await t.hello('t9')).type, 'welcome');
  });

  it('a credential store that cannot be read answers 503, not counted as a wrong guess', async () => {
    let failing = false;
    class FlakyStore extends SqliteControlStore {
      override async getTrackerCredential(id: string) {
        if (failing) throw new Error('database unreachable');
        return super.getTrackerCredential(id);
      }
    }
    const h = await server({ store: new FlakyStore(':memory:') });
    const c = await addCredential(h, 't1');
    failing = true;
    for (let i = 0; i < DEFAULTS.loginFailuresPerAddress + 2; i++) assert.equal(await status(h.url, c), 503);
    failing = false;
    assert.equal(await status(h.url, c), 101, 'no throttling came of the failures');
  });

  it('neither the list nor the log holds a secret or its hash', async () => {
    const lines: string[] = [];
    const h = await server({ logger: { level: 'debug', stream: { write: (l: string) => void lines.push(l) } } });
    const c = await addCredential(h, 't1');
    const secret = c.slice(c.lastIndexOf('.') + 1);
    const hash = (await h.store.getTrackerCredential('t1'))?.secretHash ?? '';
    assert.match(hash, /^[0-9a-f]{64}$/);
    assert.notEqual(hash, secret);
    const list = await admin(h, 'GET', '/v1/admin/trackers/credentials');
    assert.deepEqual(Object.keys((list.body?.['credentials'] as Array<Record<string, unknown>>)[0] ?? {}).sort(), ['created_at', 'id', 'revoked_at']);
    assert.equal(await status(h.url, `t1.gct_${'C'.repeat(43)}`), 401);
    const t = await link(h.url, c);
    const closing = closedWith(t);
    t.send({ type: 'hello', tracker_id: 't2', announce_url: 'http://x/announce', ws_url: 'ws://x/ws', sessions: [] });
    await closing;
    await admin(h, 'DELETE', '/v1/admin/trackers/credentials/t1');
    const log = lines.join('');
    assert.ok(log.includes('control link refused'), 'the refusals were logged');
    for (const leak of [secret, hash, list.res.body.includes(secret) ? 'listed' : null]) if (leak) assert.ok(!log.includes(leak), 'no secret in the log');
    assert.ok(!list.res.body.includes(secret) && !list.res.body.includes(hash), 'no secret or hash in the list');
  });
});
