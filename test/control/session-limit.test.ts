/**
 * The concurrent-session limit, as a user sharing an account meets it: a
 * sign-in over the limit ends the oldest session through the chain (the
 * tracker is told to disconnect it, reason "signed in on another device"),
 * or, with --on-limit refuse, is itself refused.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import type { AdmissionResult } from '../../src/core/types.js';
import { createControlServer } from '../../src/control/index.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import { REASON_OTHER_DEVICE } from '../../src/control/session-limit.js';
import type { ControlToTracker } from '../../src/protocol/control-link.js';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';
import { admin, newClientKey, seed, startWithTracker, ADMIN_PASSWORD, adminAuth } from './helpers.js';
import { probe } from './disconnect-helpers.js';

type H = Awaited<ReturnType<typeof startWithTracker>>;

async function signIn(h: { server: H['server'] }, user = 'alice', program = 'news'): Promise<{ status: number; body: AdmissionResult & { error?: { code: string } } }> {
  const res = await h.server.app.inject({
    method: 'POST',
    url: `/v1/programs/${program}/request`,
    payload: { user, password: `pw-${user}`, client_key: newClientKey().publicKey },
  });
  return { status: res.statusCode, body: res.json() };
}

type Disconnect = Extract<ControlToTracker, { type: 'disconnect' }>;
/** Disconnect commands seen while waiting for acks. */
const seen = new WeakMap<H, Disconnect[]>();

async function untilAck(h: H, id: string): Promise<void> {
  for (;;) {
    const m = await h.tracker.next();
    if (m.type === 'ack' && m.id === id) return;
    if (m.type === 'disconnect') seen.set(h, [...(seen.get(h) ?? []), m]);
  }
}

async function join(h: H, sid: string, port: number): Promise<void> {
  h.tracker.send({ type: 'join', id: `j-${sid}`, sid, ip: '10.0.0.7', port, at: h.clock.now() });
  await untilAck(h, `j-${sid}`);
}

/** The disconnect commands the tracker got up to a round trip from now (since the last call). */
async function disconnects(h: H): Promise<Disconnect[]> {
  h.tracker.send({ type: 'leave', id: 'probe', sid: 'nobody', reason: 'stopped', at: 1 });
  await untilAck(h, 'probe');
  const got = seen.get(h) ?? [];
  seen.set(h, []);
  return got;
}

describe('session limit', () => {
  it('max 1: a second sign-in ends the first session through the chain and is admitted itself', async () => {
    const h = await startWithTracker({ expiryCheckMs: null });
    try {
      const set = await admin(h, 'PATCH', '/v1/admin/users/alice', { max_sessions: 1 });
      assert.equal(set.status, 200);
      assert.equal(set.body?.['max_sessions'], 1);
      const first = await signIn(h);
      assert.equal(first.status, 200);
      h.clock.advance(1);
      await join(h, first.body.session, 7001);
      assert.deepEqual(await disconnects(h), [], 'one session is within the limit');

      const second = await signIn(h);
      assert.equal(second.status, 200, 'the new device is admitted');
      await join(h, second.body.session, 7002);
      const cmds = await disconnects(h);
      assert.deepEqual(
        cmds.map((c) => [c.sid, c.reason]),
        [[first.body.session, REASON_OTHER_DEVICE]],
      );
      const [d] = await h.store.listDisconnects({ sid: first.body.session });
      assert.equal(d?.reason, REASON_OTHER_DEVICE);
      assert.equal((await h.store.getSession(second.body.session))?.state, 'joined');
      assert.deepEqual(await h.store.listDisconnects({ sid: second.body.session }), []);
    } finally {
      await h.close();
    }
  });

  it("a subscription's limit overrides the user's; clearing the user's limit lifts it", async () => {
    const h = await startWithTracker({ expiryCheckMs: null });
    try {
      await admin(h, 'PATCH', '/v1/admin/users/alice', { max_sessions: 1 });
      const put = await admin(h, 'PUT', '/v1/admin/subscriptions', { user: 'alice', program: 'news', until: null, max_sessions: 2 });
      assert.equal(put.body?.['max_sessions'], 2);
      const a = await signIn(h);
      h.clock.advance(1);
      const b = await signIn(h);
      h.clock.advance(1);
      await join(h, a.body.session, 7001);
      await join(h, b.body.session, 7002);
      assert.deepEqual(await disconnects(h), []);
      const c = await signIn(h);
      assert.equal(c.status, 200);
      assert.deepEqual((await disconnects(h)).map((x) => x.sid), [a.body.session], 'the oldest goes');

      await admin(h, 'PUT', '/v1/admin/subscriptions', { user: 'alice', program: 'news', until: null });
      await admin(h, 'PATCH', '/v1/admin/users/alice', { max_sessions: null });
      assert.equal((await signIn(h)).status, 200);
      await probe(h.tracker, 1);
      assert.equal((await h.store.listDisconnects({})).length, 1, 'no limit: nobody else ended');
    } finally {
      await h.close();
    }
  });

  it('refuses a bad limit and an unknown user', async () => {
    const h = await startWithTracker({ expiryCheckMs: null });
    try {
      assert.equal((await admin(h, 'PATCH', '/v1/admin/users/alice', { max_sessions: 0 })).status, 400);
      assert.equal((await admin(h, 'PATCH', '/v1/admin/users/alice', { max_sessions: '2' })).status, 400);
      assert.equal((await admin(h, 'PATCH', '/v1/admin/users/nobody', { max_sessions: 2 })).status, 404);
      const added = await admin(h, 'POST', '/v1/admin/users', { name: 'bob', password: 'pw-bob', max_sessions: 3 });
      assert.equal(added.body?.['max_sessions'], 3);
    } finally {
      await h.close();
    }
  });

  it('--on-limit refuse: the sign-in over the limit is refused with too_many_sessions, the first keeps its session', async () => {
    const store = new SqliteControlStore(':memory:');
    const server = await createControlServer({
      store,
      clock: new ManualClock(Date.now()),
      adminPassword: ADMIN_PASSWORD,
      trackerSecret: 'ts',
      onLimit: 'refuse',
      maxSessions: 1,
      expiryCheckMs: null,
      linkKeepaliveMs: null,
      webServer: webServerFactory(),
    });
    const h = { server, store, clock: new ManualClock(), close: async () => undefined };
    try {
      await seed(h);
      // No tracker connected: admission needs one, so fake a registry entry through a real link.
      const url = await server.listen(0);
      const { FakeTracker } = await import('./helpers.js');
      const t = await FakeTracker.connect(url, 'ts');
      await t.hello();
      const first = await signIn(h);
      assert.equal(first.status, 200);
      const second = await signIn(h);
      assert.equal(second.status, 409);
      assert.equal(second.body.error?.code, 'too_many_sessions');
      assert.equal((await store.getSession(first.body.session))?.state, 'admitted');
      assert.deepEqual(await store.listDisconnects({}), []);
      const res = await server.app.inject({ method: 'GET', url: '/v1/admin/users', headers: { authorization: adminAuth() } });
      assert.equal(res.statusCode, 200);
      await t.close();
    } finally {
      await server.close();
      await store.close();
    }
  });
});
