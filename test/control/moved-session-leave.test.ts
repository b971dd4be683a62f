/**
 * A client that moved to another tracker: the tracker it left reports a leave
 * (timeout, stopped) for a session whose current tracker is now the other one.
 * That leave answers no disconnect, so it must not end the session; it is
 * acked (the old tracker stops resending it). A leave that answers a
 * disconnect still ends the session wherever it comes from.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeTracker, seed, startServer, type Harness } from './helpers.js';
import { openSession } from './disconnect-helpers.js';

describe('a leave from the tracker a session moved away from', () => {
  let h: Harness;
  let url: string;
  let first: FakeTracker;
  let second: FakeTracker;
  before(async () => {
    h = await startServer();
    url = await h.server.listen(0);
    await seed(h);
    first = await FakeTracker.connect(url);
    second = await FakeTracker.connect(url);
    await first.hello('t-first');
    await second.hello('t-second');
  });
  after(async () => {
    await first.close();
    await second.close();
    await h.close();
  });

  /** A session that joined on `first`, then on `second` (the client moved). */
  async function moved(sid: string): Promise<void> {
    await openSession(h.store, sid, 'alice', 'news', h.clock.now());
    first.send({ type: 'join', id: `j1-${sid}`, sid, ip: '10.0.0.1', port: 6881, at: h.clock.now() });
    assert.deepEqual(await first.next(), { type: 'ack', id: `j1-${sid}` });
    second.send({ type: 'join', id: `j2-${sid}`, sid, ip: '10.0.0.1', port: 6881, at: h.clock.now() });
    assert.deepEqual(await second.next(), { type: 'ack', id: `j2-${sid}` });
    assert.equal((await h.store.getSession(sid))?.trackerId, 't-second');
  }

  it('acks it and keeps the session open on its current tracker', async () => {
    await moved('s-moved');
    first.send({ type: 'leave', id: 'old-leave', sid: 's-moved', reason: 'timeout', at: h.clock.now() });
    assert.deepEqual(await first.next(), { type: 'ack', id: 'old-leave' });
    const s = await h.store.getSession('s-moved');
    assert.equal(s?.state, 'joined');
    assert.equal(s?.trackerId, 't-second');
    assert.equal(s?.endReason, null);
    // The current tracker's leave does end it.
    second.send({ type: 'leave', id: 'new-leave', sid: 's-moved', reason: 'stopped', at: h.clock.now() });
    assert.deepEqual(await second.next(), { type: 'ack', id: 'new-leave' });
    const ended = await h.store.getSession('s-moved');
    assert.equal(ended?.state, 'ended');
    assert.equal(ended?.endReason, 'stopped');
  });

  it('still ends the session when that leave answers a disconnect (ref)', async () => {
    await moved('s-kicked');
    const d = await h.server.orchestrator.kick('s-kicked', 'test');
    const cmd = await second.next();
    assert.equal(cmd.type, 'disconnect');
    first.send({ type: 'leave', id: 'ref-leave', sid: 's-kicked', reason: 'stopped', ref: d.id, at: h.clock.now() });
    assert.deepEqual(await first.next(), { type: 'ack', id: 'ref-leave' });
    assert.equal((await h.store.getSession('s-kicked'))?.state, 'ended');
    assert.equal((await h.store.getDisconnect(d.id))?.state, 'completed');
  });
});
