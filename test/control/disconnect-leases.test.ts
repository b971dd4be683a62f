/**
 * Two control server instances on one store (the cluster mode PostgreSQL
 * runs in; here an in-memory SQLite store and in-process notices stand in, in
 * virtual time): each drives only the disconnects it holds a lease on, a kick
 * taken by one instance is driven by the instance holding its tracker's link,
 * and a tracker that moves takes its pending disconnects along.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { createControlServer, type ControlServer } from '../../src/control/index.js';
import { InProcessDisconnectNotices } from '../../src/control/in-process-notices.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';
import { ADMIN_PASSWORD, adminAuth, FakeTracker, TRACKER_SECRET } from './helpers.js';
import { openSession, SimulatedTracker } from './disconnect-helpers.js';

const RETRY_MS = 1_000;

async function until(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  // Socket round trips and store writes the test cannot await one by one; poll briefly (real time).
  for (let i = 0; i < 600; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`not reached: ${what}`);
}

describe('disconnect leases across two control server instances', () => {
  let store: SqliteControlStore;
  let clock: ManualClock;
  let a: ControlServer;
  let b: ControlServer;
  let urlA: string;
  let urlB: string;
  const closers: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    store = new SqliteControlStore(':memory:');
    clock = new ManualClock(Date.now());
    const notices = new InProcessDisconnectNotices();
    const make = (instanceId: string): Promise<ControlServer> =>
      createControlServer({
        store,
        clock,
        adminPassword: ADMIN_PASSWORD,
        trackerSecret: TRACKER_SECRET,
        linkKeepaliveMs: null,
        expiryCheckMs: null,
        disconnectRetryMs: RETRY_MS,
        webServer: webServerFactory(),
        cluster: { instanceId, notices },
      });
    a = await make('A');
    b = await make('B');
    urlA = await a.listen(0);
    urlB = await b.listen(0);
  });

  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
    await a.close();
    await b.close();
    await store.close();
  });

  async function joinedOn(tracker: SimulatedTracker, sid: string): Promise<void> {
    await openSession(store, sid, 'alice', 'news', clock.now());
    tracker.join(sid);
    await until(`${sid} joined`, async () => (await store.getSession(sid))?.state === 'joined');
  }

  it('a kick taken by the instance without the tracker link is driven by the one with it, once', async () => {
    const t = await SimulatedTracker.connect(urlB, clock, RETRY_MS, 'tracker-b');
    closers.push(() => t.close());
    await joinedOn(t, 's1');
    const d = await a.orchestrator.kick('s1', 'cross-instance test');
    assert.equal(d.state, 'pending');
    await until('the disconnect completed', async () => (await store.getDisconnect(d.id))?.state === 'completed');
    const done = await store.getDisconnect(d.id);
    assert.equal(done?.outcome, 'stopped');
    assert.equal(done?.attempts, 1, 'sent once, by B alone');
    assert.deepEqual(
      done?.timeline.map((e) => [e.event, e.detail]).slice(0, 2),
      [
        ['command_sent', 'to tracker-b'],
        ['tracker_ack', 'from tracker-b'],
      ],
    );
    assert.equal((await store.getSession('s1'))?.state, 'ended');
    assert.equal(a.orchestrator.pendingCount, 0);
    assert.equal(b.orchestrator.pendingCount, 0);
  });

  it('two instances kicking one session at once record one disconnect, and both return it', async () => {
    const t = await SimulatedTracker.connect(urlB, clock, RETRY_MS, 'tracker-b');
    closers.push(() => t.close());
    await joinedOn(t, 's3');
    const [fromA, fromB] = await Promise.all([a.orchestrator.kick('s3', 'race'), b.orchestrator.kick('s3', 'race')]);
    assert.equal(fromA.id, fromB.id);
    await until('the disconnect completed', async () => (await store.getDisconnect(fromA.id))?.state === 'completed');
    assert.equal((await store.listDisconnects({ sid: 's3' })).length, 1);
  });

  it('a tracker that moves to the other instance takes its pending disconnect along (released by one sweep, claimed by the next)', async () => {
    // A silent tracker on A: the command goes out and is never acked, so the disconnect stays pending with A.
    const silent = await FakeTracker.connect(urlA);
    await silent.hello('tracker-m');
    await openSession(store, 's2', 'alice', 'news', clock.now());
    silent.send({ type: 'join', id: 'j-s2', sid: 's2', ip: '10.0.0.2', port: 6881, at: clock.now() });
    assert.deepEqual(await silent.next(), { type: 'ack', id: 'j-s2' });
    const d = await b.orchestrator.kick('s2', 'moving test');
    const cmd = await silent.next();
    assert.deepEqual(cmd, { type: 'disconnect', id: d.id, sid: 's2', reason: 'moving test' });
    assert.equal(a.orchestrator.pendingCount, 1);
    assert.equal(b.orchestrator.pendingCount, 0);

    await silent.close();
    await until('A saw the link close', () => a.trackers().length === 0);
    const moved = await SimulatedTracker.connect(urlB, clock, RETRY_MS, 'tracker-m');
    closers.push(() => moved.close());
    for (let i = 0; i < 10 && (await store.getDisconnect(d.id))?.state !== 'completed'; i++) {
      clock.advance(RETRY_MS);
      await until(`sweep ${i} settled`, async () => {
        await a.orchestrator.idle();
        await b.orchestrator.idle();
        return true;
      });
      await moved.flush();
    }
    await until('the disconnect completed on B', async () => (await store.getDisconnect(d.id))?.state === 'completed');
    const done = await store.getDisconnect(d.id);
    assert.ok(done?.timeline.some((e) => e.event === 'tracker_ack' && e.detail === 'from tracker-m'));
    assert.equal(a.orchestrator.pendingCount, 0, 'A let go');
  });

  it("a tracker that says hello to the other instance while its old link still looks open here: this instance lets its disconnects go", async () => {
    const stale = await FakeTracker.connect(urlA);
    closers.push(() => stale.close());
    await stale.hello('tracker-s');
    await openSession(store, 's4', 'alice', 'news', clock.now());
    stale.send({ type: 'join', id: 'j-s4', sid: 's4', ip: '10.0.0.4', port: 6881, at: clock.now() });
    assert.deepEqual(await stale.next(), { type: 'ack', id: 'j-s4' });
    const d = await a.orchestrator.kick('s4', 'stale link test');
    assert.equal((await stale.next()).type, 'disconnect');
    clock.advance(10); // the new hello is later than the old one
    const moved = await SimulatedTracker.connect(urlB, clock, RETRY_MS, 'tracker-s');
    closers.push(() => moved.close());
    assert.equal(a.trackers().length, 1, 'A still has its end of the old link');
    for (let i = 0; i < 10 && (await store.getDisconnect(d.id))?.state !== 'completed'; i++) {
      clock.advance(RETRY_MS);
      await a.orchestrator.idle();
      await b.orchestrator.idle();
      await moved.flush();
    }
    await until('the disconnect completed through B', async () => (await store.getDisconnect(d.id))?.state === 'completed');
    assert.equal(a.registry.locate('tracker-s'), 'here');
    assert.equal(a.orchestrator.pendingCount, 0, 'A no longer drives it');
  });

  it('lists the trackers of both instances in either registry, and knows which instance holds each', async () => {
    const ta = await FakeTracker.connect(urlA);
    const tb = await FakeTracker.connect(urlB);
    closers.push(() => ta.close(), () => tb.close());
    await ta.hello('tracker-a');
    await tb.hello('tracker-b');
    await until('directory rows written', async () => (await store.listTrackerPresence(0)).length === 2);
    clock.advance(2_000); // one directory refresh
    await until('A lists both', () => a.registry.listAll().length === 2);
    await until('B lists both', () => b.registry.listAll().length === 2);
    assert.deepEqual(a.registry.listAll().map((t) => t.id).sort(), ['tracker-a', 'tracker-b']);
    assert.deepEqual(a.trackers().map((t) => t.id), ['tracker-a'], 'trackers() stays the local list');
    assert.equal(a.registry.locate('tracker-a'), 'here');
    assert.equal(a.registry.locate('tracker-b'), 'B');
    assert.equal(b.registry.locate('tracker-a'), 'A');
    const listed = await a.app.inject({ method: 'GET', url: '/v1/admin/trackers', headers: { authorization: adminAuth() } });
    assert.deepEqual((listed.json() as { trackers: Array<{ id: string }> }).trackers.map((t) => t.id).sort(), ['tracker-a', 'tracker-b']);
    await tb.close();
    await until('B removed its row', async () => (await store.listTrackerPresence(0)).length === 1);
    clock.advance(2_000);
    await until('A no longer lists tracker-b', () => a.registry.listAll().length === 1);
    assert.equal(a.registry.locate('tracker-b'), undefined);
  });
});
