import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/core/clock.js';
import type { ControlToTracker } from '../../src/protocol/control-link.js';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';
import type { DisconnectView } from '../../src/control/index.js';
import { admin, FakeTracker, newClientKey, newSourceKey, seed, startServer, startWithTracker } from './helpers.js';
import { joinedSession, probe } from './disconnect-helpers.js';

const RETRY = 1_000;

function asDisconnect(m: ControlToTracker): Extract<ControlToTracker, { type: 'disconnect' }> {
  assert.equal(m.type, 'disconnect', `expected a disconnect, got ${JSON.stringify(m)}`);
  return m as Extract<ControlToTracker, { type: 'disconnect' }>;
}

const events = (d: { timeline: Array<{ event: string }> } | undefined): string[] => (d?.timeline ?? []).map((e) => e.event);

describe('disconnect chain, control server side (steps A and E)', () => {
  it('sends the command to the tracker holding the session and resends it every retry period until acked', async () => {
    const h = await startWithTracker({ disconnectRetryMs: RETRY, expiryCheckMs: null });
    try {
      await joinedSession(h, h.tracker, 's1');
      const res = await admin(h, 'POST', '/v1/admin/kick', { session: 's1', reason: 'bye now' });
      assert.equal(res.status, 200);
      const [view] = (res.body as { disconnects: DisconnectView[] }).disconnects;
      assert.deepEqual([view?.session, view?.state, view?.reason, view?.tracker], ['s1', 'pending', 'bye now', 'tracker-1']);

      const first = asDisconnect(await h.tracker.next());
      assert.deepEqual(first, { type: 'disconnect', id: view?.id, sid: 's1', reason: 'bye now' });
      h.clock.advance(RETRY - 1);
      await probe(h.tracker, 1); // nothing before the period is up
      h.clock.advance(1);
      assert.deepEqual(await h.tracker.next(), first);
      h.clock.advance(RETRY);
      assert.deepEqual(await h.tracker.next(), first);

      h.tracker.send({ type: 'ack', id: first.id });
      h.tracker.send({ type: 'ack', id: first.id }); // a duplicate ack is harmless
      await probe(h.tracker, 2);
      h.clock.advance(RETRY * 5);
      await probe(h.tracker, 3); // acked: no more resends
      await h.server.orchestrator.idle();
      const d = await h.store.getDisconnect(first.id);
      assert.equal(d?.attempts, 3);
      assert.deepEqual(events(d), ['command_sent', 'tracker_ack']);
      assert.equal(d?.state, 'pending');
      assert.equal(h.server.orchestrator.pendingCount, 1);
    } finally {
      await h.close();
    }
  });

  it("completes on the tracker's leave with a full timeline, acking only after recording it; duplicates change nothing", async () => {
    const h = await startWithTracker({ disconnectRetryMs: RETRY, expiryCheckMs: null });
    try {
      await joinedSession(h, h.tracker, 's1');
      await h.server.orchestrator.kick('s1', 'bye');
      const cmd = asDisconnect(await h.tracker.next());
      h.clock.advance(3);
      h.tracker.send({ type: 'ack', id: cmd.id });
      await probe(h.tracker, 0);
      h.clock.advance(20);
      h.tracker.send({ type: 'leave', id: 'l1', sid: 's1', reason: 'stopped', ref: cmd.id, at: h.clock.now() });
      assert.deepEqual(await h.tracker.next(), { type: 'ack', id: 'l1' });
      // The ack means recorded: the session and the disconnect are already ended in the store.
      assert.equal((await h.store.getSession('s1'))?.state, 'ended');
      assert.equal((await h.store.getDisconnect(cmd.id))?.state, 'completed');
      await h.server.orchestrator.idle();

      const res = await admin(h, 'GET', `/v1/admin/disconnects/${cmd.id}`);
      assert.equal(res.status, 200);
      const view = res.body as unknown as DisconnectView;
      assert.deepEqual([view.state, view.outcome, view.duration_ms], ['completed', 'stopped', 23]);
      assert.deepEqual(
        view.timeline.map((e) => [e.event, e.ms]),
        [
          ['command_sent', 0],
          ['tracker_ack', 3],
          ['client_stopped', 23],
          ['control_ack', 23],
        ],
      );
      assert.match(view.timeline[0]?.at ?? '', /^\d{4}-\d\d-\d\dT.*Z$/);

      h.tracker.send({ type: 'leave', id: 'l1', sid: 's1', reason: 'stopped', ref: cmd.id, at: h.clock.now() });
      h.tracker.send({ type: 'leave', id: 'l2', sid: 's1', reason: 'revoked', ref: cmd.id, at: h.clock.now() });
      assert.deepEqual(await h.tracker.next(), { type: 'ack', id: 'l1' });
      assert.deepEqual(await h.tracker.next(), { type: 'ack', id: 'l2' });
      h.tracker.send({ type: 'ack', id: cmd.id });
      h.clock.advance(RETRY * 3);
      await probe(h.tracker, 1);
      await h.server.orchestrator.idle();
      const after = await h.store.getDisconnect(cmd.id);
      assert.deepEqual([after?.outcome, events(after)], ['stopped', ['command_sent', 'tracker_ack', 'client_stopped', 'control_ack']]);
      assert.equal(h.server.orchestrator.pendingCount, 0);
    } finally {
      await h.close();
    }
  });

  it('records a heartbeat timeout as client_timeout', async () => {
    const h = await startWithTracker({ expiryCheckMs: null });
    try {
      await joinedSession(h, h.tracker, 's1');
      const d = await h.server.orchestrator.kick('s1', 'bye');
      await h.tracker.next();
      h.tracker.send({ type: 'leave', id: 'l1', sid: 's1', reason: 'timeout', ref: d.id, at: h.clock.now() });
      await h.tracker.next();
      await h.server.orchestrator.idle();
      const done = await h.store.getDisconnect(d.id);
      assert.deepEqual([done?.outcome, events(done)], ['timeout', ['command_sent', 'client_timeout', 'control_ack']]);
    } finally {
      await h.close();
    }
  });

  it('is idempotent, ends a session that never joined at once, and refuses unknown and ended sessions clearly', async () => {
    const h = await startWithTracker({ expiryCheckMs: null });
    try {
      await joinedSession(h, h.tracker, 's1');
      const a = await h.server.orchestrator.kick('s1', 'one');
      const b = await h.server.orchestrator.kick('s1', 'two');
      assert.equal(b.id, a.id);
      assert.equal(b.reason, 'one');

      // Admitted, never joined: no tracker holds it, so nothing is sent.
      const ck = newClientKey();
      const adm = await h.server.app.inject({ method: 'POST', url: '/v1/programs/news/request', payload: { user: 'alice', password: 'pw-alice', client_key: ck.publicKey } });
      const sid = (adm.json() as { session: string }).session;
      const nj = await h.server.orchestrator.kick(sid, 'early');
      assert.deepEqual([nj.state, nj.outcome, events(nj)], ['completed', 'not_joined', ['not_joined']]);
      assert.equal((await h.store.getSession(sid))?.state, 'ended');
      assert.equal((await h.server.orchestrator.kick(sid, 'again')).id, nj.id);
      asDisconnect(await h.tracker.next()); // s1's command only
      await probe(h.tracker, 1);

      await assert.rejects(h.server.orchestrator.kick('nope', 'x'), { code: 'unknown_session' });
      await h.store.createSession({
        id: 'gone', user: 'alice', program: 'news', role: 'viewer', clientKey: 'k', state: 'ended', ip: null, port: null,
        trackerId: null, createdAt: 1, joinedAt: null, endedAt: 2, endReason: 'stopped',
      });
      await assert.rejects(h.server.orchestrator.kick('gone', 'x'), { code: 'session_ended', message: /already ended \(stopped\)/ });
      const res = await admin(h, 'POST', '/v1/admin/kick', { session: 'gone' });
      assert.equal(res.status, 403);
    } finally {
      await h.close();
    }
  });

  it('refuses token renewal from the moment of the kick', async () => {
    const h = await startWithTracker({ expiryCheckMs: null });
    try {
      const ck = newClientKey();
      const adm = await h.server.app.inject({ method: 'POST', url: '/v1/programs/news/request', payload: { user: 'alice', password: 'pw-alice', client_key: ck.publicKey } });
      const sid = (adm.json() as { session: string }).session;
      h.tracker.send({ type: 'join', id: 'j', sid, ip: '10.0.0.1', port: 1, at: h.clock.now() });
      await h.tracker.next();
      const renew = async () => {
        const ts = h.clock.now();
        const sig = sign(null, Buffer.from(`gatecast-renew:${sid}:${ts}`), ck.key).toString('base64url');
        return h.server.app.inject({ method: 'POST', url: `/v1/sessions/${sid}/renew`, payload: { ts, sig } });
      };
      assert.equal((await renew()).statusCode, 200);
      await admin(h, 'POST', '/v1/admin/kick', { session: sid, reason: 'unpaid' });
      const refused = await renew();
      assert.equal(refused.statusCode, 403);
      assert.deepEqual(refused.json(), { error: { code: 'session_ended', message: `session ${sid} is being ended (unpaid)` } });
    } finally {
      await h.close();
    }
  });

  it('kicks every open session of a user, and deleting a user kicks its sessions', async () => {
    const h = await startWithTracker({ expiryCheckMs: null });
    try {
      await admin(h, 'POST', '/v1/admin/users', { name: 'bob', password: 'pw' });
      await joinedSession(h, h.tracker, 'a1');
      await joinedSession(h, h.tracker, 'a2');
      await joinedSession(h, h.tracker, 'b1', 'bob');
      const res = await admin(h, 'POST', '/v1/admin/kick', { user: 'alice' });
      const list = (res.body as { disconnects: DisconnectView[] }).disconnects;
      assert.deepEqual(list.map((d) => [d.session, d.reason]).sort(), [['a1', 'disconnected by the operator'], ['a2', 'disconnected by the operator']]);
      const sent = [asDisconnect(await h.tracker.next()), asDisconnect(await h.tracker.next())];
      assert.deepEqual(sent.map((m) => m.sid).sort(), ['a1', 'a2']);

      assert.equal((await admin(h, 'DELETE', '/v1/admin/users/bob')).status, 204);
      const b = asDisconnect(await h.tracker.next());
      assert.deepEqual([b.sid, b.reason], ['b1', 'user removed']);
    } finally {
      await h.close();
    }
  });

  it('revoking a subscription ends that user’s sessions of the program through the same chain', async () => {
    const h = await startWithTracker({ expiryCheckMs: null });
    try {
      await admin(h, 'POST', '/v1/admin/programs', { id: 'sport', title: 'Sport', source_key: newSourceKey() });
      await admin(h, 'PUT', '/v1/admin/subscriptions', { user: 'alice', program: 'sport' });
      await joinedSession(h, h.tracker, 'n1');
      await joinedSession(h, h.tracker, 'x1', 'alice', 'sport');
      const res = await admin(h, 'DELETE', '/v1/admin/subscriptions/alice/news');
      assert.equal(res.status, 200);
      const body = res.body as { disconnects: DisconnectView[] };
      assert.deepEqual(body.disconnects.map((d) => [d.session, d.reason, d.state]), [['n1', 'subscription revoked', 'pending']]);
      const cmd = asDisconnect(await h.tracker.next());
      assert.deepEqual([cmd.sid, cmd.reason], ['n1', 'subscription revoked']);
      await probe(h.tracker, 1); // sport's session is untouched
      h.tracker.send({ type: 'leave', id: 'l', sid: 'n1', reason: 'stopped', ref: cmd.id, at: h.clock.now() });
      await h.tracker.next();
      assert.deepEqual((await h.store.listSessions()).map((s) => s.id), ['x1']);
    } finally {
      await h.close();
    }
  });

  it('ends sessions whose subscription expires, at the next periodic check', async () => {
    const h = await startWithTracker({ expiryCheckMs: 5_000 });
    try {
      const until = new Date(h.clock.now() + 7_000).toISOString();
      await admin(h, 'PUT', '/v1/admin/subscriptions', { user: 'alice', program: 'news', until });
      await joinedSession(h, h.tracker, 's1');
      h.clock.advance(5_000);
      await h.server.orchestrator.idle();
      await probe(h.tracker, 1); // still entitled at the first check
      h.clock.advance(5_000);
      const cmd = asDisconnect(await h.tracker.next());
      assert.deepEqual([cmd.sid, cmd.reason], ['s1', 'subscription expired']);
      h.clock.advance(5_000); // a later check does not start a second disconnect
      await h.server.orchestrator.idle();
      assert.equal((await h.store.listDisconnects({ sid: 's1' })).length, 1);
    } finally {
      await h.close();
    }
  });

  it('keeps retrying while the tracker is away and resends at once when it says hello again', async () => {
    const h = await startWithTracker({ disconnectRetryMs: RETRY, expiryCheckMs: null });
    try {
      await joinedSession(h, h.tracker, 's1');
      await h.tracker.close();
      const d = await h.server.orchestrator.kick('s1', 'bye');
      h.clock.advance(RETRY * 10);
      await h.server.orchestrator.idle();
      assert.equal((await h.store.getDisconnect(d.id))?.attempts, 0);

      const t = await FakeTracker.connect(h.url);
      try {
        assert.equal((await t.hello('tracker-1', ['s1'])).type, 'welcome');
        const cmd = asDisconnect(await t.next());
        assert.equal(cmd.id, d.id);
        t.send({ type: 'ack', id: cmd.id });
        await probe(t, 1);
        // The tracker restarts after acking (and forgets): a fresh hello gets the command again.
        await t.close();
        const t2 = await FakeTracker.connect(h.url);
        try {
          await t2.hello('tracker-1', ['s1']);
          assert.equal(asDisconnect(await t2.next()).id, d.id);
        } finally {
          await t2.close();
        }
      } finally {
        await t.close();
      }
    } finally {
      await h.close();
    }
  });

  it("lists in its welcome the sessions a restarted tracker must keep refusing, not those whose tokens are dead nor those that may come back", async () => {
    const h = await startWithTracker({ expiryCheckMs: null, tokenTtlS: 60 });
    try {
      await joinedSession(h, h.tracker, 'old');
      h.tracker.send({ type: 'leave', id: 'l-old', sid: 'old', reason: 'stopped', at: h.clock.now() });
      await h.tracker.next();
      h.clock.advance(121_000); // past the token lifetime and the clock-skew margin
      await joinedSession(h, h.tracker, 'recent');
      h.tracker.send({ type: 'leave', id: 'l-recent', sid: 'recent', reason: 'stopped', at: h.clock.now() });
      await h.tracker.next();
      await joinedSession(h, h.tracker, 'kicked');
      await h.server.orchestrator.kick('kicked', 'bye');
      await h.tracker.next();
      await joinedSession(h, h.tracker, 'dropped');
      await h.tracker.close();

      const t = await FakeTracker.connect(h.url);
      try {
        const welcome = await t.hello('tracker-1', ['kicked']);
        assert.equal(welcome.type, 'welcome');
        // 'dropped' is not listed: the restarted tracker forgot it and its client may re-announce (tracker-link.test.ts).
        assert.deepEqual(welcome.type === 'welcome' && [...(welcome.revoked ?? [])].sort(), ['kicked', 'recent']);
        assert.equal(asDisconnect(await t.next()).sid, 'kicked'); // and the pending command again
      } finally {
        await t.close();
      }
    } finally {
      await h.close();
    }
  });

  it('survives a control server restart: the pending disconnect resumes and completes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatecast-disconnect-'));
    const path = join(dir, 'control.db');
    try {
      const clock = new ManualClock(Date.now());
      const first = await startServer({ store: new SqliteControlStore(path), clock, disconnectRetryMs: RETRY, expiryCheckMs: null });
      const url1 = await first.server.listen(0);
      await seed(first);
      const t1 = await FakeTracker.connect(url1);
      await t1.hello();
      await joinedSession(first, t1, 's1');
      const d = await first.server.orchestrator.kick('s1', 'restart test');
      await t1.next(); // sent, never acked
      await t1.close();
      await first.close();

      const second = await startServer({ store: new SqliteControlStore(path), clock, disconnectRetryMs: RETRY, expiryCheckMs: null });
      try {
        assert.equal(second.server.orchestrator.pendingCount, 1);
        const url2 = await second.server.listen(0);
        const t2 = await FakeTracker.connect(url2);
        try {
          await t2.hello('tracker-1', ['s1']);
          const cmd = asDisconnect(await t2.next());
          assert.deepEqual([cmd.id, cmd.reason], [d.id, 'restart test']);
          t2.send({ type: 'ack', id: cmd.id });
          t2.send({ type: 'leave', id: 'l', sid: 's1', reason: 'stopped', ref: cmd.id, at: clock.now() });
          assert.deepEqual(await t2.next(), { type: 'ack', id: 'l' });
          await second.server.orchestrator.idle();
          const done = await second.store.getDisconnect(d.id);
          assert.deepEqual([done?.state, done?.attempts, events(done)], ['completed', 2, ['command_sent', 'tracker_ack', 'client_stopped', 'control_ack']]);
        } finally {
          await t2.close();
        }
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
