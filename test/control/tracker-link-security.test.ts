/**
 * The control link as an attacker meets it: a party holding the tracker secret
 * (or only the admin password) opens real WebSockets to the control server and
 * tries to take a connected tracker's place, re-point it, or read keys.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { generateKeyPairSync } from 'node:crypto';
import { rawPublicKey } from '../../src/core/piece.js';
import WebSocket from 'ws';
import { ManualClock } from '../../src/core/clock.js';
import { DEFAULTS } from '../../src/core/config.js';
import type { AdmissionResult } from '../../src/core/types.js';
import { createControlServer } from '../../src/control/index.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import { SIGNING_KEY_SECRET } from '../../src/control/signing-key.js';
import { DUPLICATE_ID_CLOSE } from '../../src/protocol/control-link.js';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';
import { ADMIN_PASSWORD, adminAuth, FakeTracker, newClientKey, seed, startServer, type Harness } from './helpers.js';

async function waitFor(cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail('condition not reached');
}

describe('tracker link against an impostor', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await startServer();
    url = await h.server.listen(0);
    await seed(h);
  });
  after(async () => {
    await h.close();
  });

  async function admit(): Promise<AdmissionResult> {
    const res = await h.server.app.inject({
      method: 'POST',
      url: '/v1/programs/news/request',
      payload: { user: 'alice', password: 'pw-alice', client_key: newClientKey().publicKey },
    });
    assert.equal(res.statusCode, 200);
    return res.json() as AdmissionResult;
  }

  it('refuses a second link claiming a connected tracker id (right secret, sessions []); the first keeps working', async () => {
    const real = await FakeTracker.connect(url);
    try {
      await real.hello('t-real');
      const sid = (await admit()).session;
      real.send({ type: 'join', id: 'j1', sid, ip: '10.0.0.9', port: 6881, at: 1 });
      assert.deepEqual(await real.next(), { type: 'ack', id: 'j1' });

      // The impostor has the secret, claims the same id, holds "no sessions" and points elsewhere.
      const impostor = await FakeTracker.connect(url);
      const closed = once(impostor.ws, 'close') as Promise<[number, Buffer]>;
      impostor.send({ type: 'hello', tracker_id: 't-real', announce_url: 'http://evil.example/announce', ws_url: 'ws://evil.example/ws', sessions: [] });
      const [code, reason] = await closed;
      assert.equal(code, DUPLICATE_ID_CLOSE);
      assert.match(reason.toString(), /already connected/);

      // Nothing changed: the session stands, the tracker's URLs are the real one's, the real link still works.
      assert.equal((await h.store.getSession(sid))?.state, 'joined');
      assert.deepEqual(h.server.trackers().map((t) => [t.id, t.wsUrl]), [['t-real', 'ws://127.0.0.1:6969/ws']]);
      assert.equal((await admit()).metadata.tracker.ws, 'ws://127.0.0.1:6969/ws');
      real.send({ type: 'leave', id: 'l1', sid: 'nobody', reason: 'stopped', at: 2 });
      assert.deepEqual(await real.next(), { type: 'ack', id: 'l1' });
      assert.equal(real.ws.readyState, WebSocket.OPEN);
    } finally {
      await real.close();
    }
    await waitFor(() => h.server.trackers().length === 0);
  });

  it('ignores a second hello on the same link: no re-pointing, no resync that ends sessions', async () => {
    const t = await FakeTracker.connect(url);
    try {
      await t.hello('t-twice');
      const sid = (await admit()).session;
      t.send({ type: 'join', id: 'j2', sid, ip: '10.0.0.8', port: 6881, at: 1 });
      await t.next();
      t.send({ type: 'hello', tracker_id: 't-twice', announce_url: 'http://evil.example/announce', ws_url: 'ws://evil.example/ws', sessions: [] });
      t.send({ type: 'leave', id: 'probe', sid: 'nobody', reason: 'stopped', at: 2 });
      assert.deepEqual(await t.next(), { type: 'ack', id: 'probe' });
      assert.equal((await h.store.getSession(sid))?.state, 'joined');
      assert.deepEqual(h.server.trackers().map((x) => x.wsUrl), ['ws://127.0.0.1:6969/ws']);
    } finally {
      await t.close();
    }
    await waitFor(() => h.server.trackers().length === 0);
  });

  it('lets a restarted tracker back in under its id once the old link has closed', async () => {
    const first = await FakeTracker.connect(url);
    await first.hello('t-restart');
    // kill -9: the socket goes away without a close handshake.
    first.ws.terminate();
    await waitFor(() => h.server.trackers().length === 0);
    const again = await FakeTracker.connect(url);
    try {
      assert.equal((await again.hello('t-restart')).type, 'welcome');
      assert.deepEqual(h.server.trackers().map((t) => t.id), ['t-restart']);
    } finally {
      await again.close();
    }
  });

  it('refuses the admin password as the link secret', async () => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${DEFAULTS.controlLinkPath}`, { headers: { authorization: `Bearer ${ADMIN_PASSWORD}` } });
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }];
    assert.equal(res.statusCode, 401);
    ws.on('error', () => undefined);
    ws.terminate();
  });
});

describe('tracker secret', () => {
  it('may not be the admin password', async () => {
    const store = new SqliteControlStore(':memory:');
    try {
      await assert.rejects(
        createControlServer({ store, clock: new ManualClock(), adminPassword: 'same', trackerSecret: 'same', webServer: webServerFactory() }),
        /must differ from the admin password/,
      );
    } finally {
      await store.close();
    }
  });
});

describe("a program keyed by the operator", () => {
  it('is created with the public key only; the source admission then hands out no private key, and a bad key is refused', async () => {
    const h = await startServer();
    try {
      const url = await h.server.listen(0);
      const t = await FakeTracker.connect(url);
      await t.hello('t-source');
      const key = newClientKey();
      const add = await h.server.app.inject({ method: 'POST', url: '/v1/admin/programs', payload: { id: 'own', title: 'Own key', source_key: key.publicKey }, headers: { authorization: adminAuth() } });
      assert.equal(add.statusCode, 201);
      assert.equal((add.json() as { source_key: string }).source_key, key.publicKey);
      assert.equal((await h.store.getProgram('own'))?.sourcePrivateKey, '');
      const src = await h.server.app.inject({ method: 'POST', url: '/v1/admin/programs/own/source', payload: { client_key: newClientKey().publicKey }, headers: { authorization: adminAuth() } });
      assert.equal(src.statusCode, 200);
      assert.equal('source_private_key' in (src.json() as object), false);
      assert.doesNotMatch(src.body, /private/);
      const bad = await h.server.app.inject({ method: 'POST', url: '/v1/admin/programs', payload: { id: 'bad', title: 'Bad', source_key: 'not-a-key' }, headers: { authorization: adminAuth() } });
      assert.equal(bad.statusCode, 400);
      await t.close();
    } finally {
      await h.close();
    }
  });
});

describe('admin responses', () => {
  it('never carry a private key: every admin route an operator (or a stolen admin password) can call', async () => {
    const h = await startServer();
    try {
      const url = await h.server.listen(0);
      await seed(h);
      const t = await FakeTracker.connect(url);
      await t.hello('t-keys');
      const bodies: string[] = [];
      const call = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, payload?: object): Promise<void> => {
        const res = await h.server.app.inject({ method, url: path, payload, headers: { authorization: adminAuth() } });
        assert.ok(res.statusCode < 500, `${method} ${path}: ${res.statusCode}`);
        bodies.push(res.body);
      };
      await call('POST', '/v1/admin/programs', { id: 'film', title: 'Film', source_key: newClientKey().publicKey });
      // A row from before, whose private key the control server made and still holds.
      const legacy = generateKeyPairSync('ed25519').privateKey;
      await h.store.createProgram({
        id: 'old',
        title: 'Old',
        bitrateBps: 1_000_000,
        lengthS: null,
        sourcePublicKey: rawPublicKey(legacy),
        sourcePrivateKey: legacy.export({ format: 'der', type: 'pkcs8' }).toString('base64url'),
        packetsPerPiece: 50,
        createdAt: h.clock.now(),
      });
      await call('POST', '/v1/admin/users', { name: 'bob', password: 'pw-bob' });
      await call('PUT', '/v1/admin/subscriptions', { user: 'bob', program: 'film', until: null });
      for (const path of [
        '/v1/admin/users',
        '/v1/admin/programs',
        '/v1/admin/subscriptions',
        '/v1/admin/sessions?all=1',
        '/v1/admin/trackers',
        '/v1/admin/disconnects',
        '/v1/health',
      ]) {
        await call('GET', path);
      }
      // The attacker holding the admin password asks for every program's source admission.
      for (const p of ['news', 'film', 'old']) await call('POST', `/v1/admin/programs/${p}/source`, { client_key: newClientKey().publicKey });
      const secrets = [(await h.store.getSecret(SIGNING_KEY_SECRET)) ?? 'missing'];
      for (const p of await h.store.listPrograms()) if (p.sourcePrivateKey !== '') secrets.push(p.sourcePrivateKey);
      assert.equal(secrets.length, 2, 'the token signing key and the legacy program key');
      await call('POST', '/v1/admin/kick', { user: 'bob' });
      await call('DELETE', '/v1/admin/subscriptions/bob/film');
      await call('DELETE', '/v1/admin/programs/film');
      const all = bodies.join('\n');
      assert.ok(all.includes('"source_key"'), 'the public keys are there, so the scan saw program views');
      for (const s of secrets) assert.ok(!all.includes(s), 'a private key appeared in an admin response');
      assert.doesNotMatch(all, /PRIVATE KEY|private_key/i);
      await t.close();
    } finally {
      await h.close();
    }
  });
});
