import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { DEFAULTS } from '../../src/core/config.js';
import { ClientError, InternalError } from '../../src/core/errors.js';
import type { ChannelPeer } from '../../src/protocol/tracker-channel.js';
import { ClientLifecycle, type ClientEnd, type ClientLifecycleOptions } from '../../src/peer/client-lifecycle.js';
import { FakeSession, FakeSwarm, FakeTracker, settle, type Calls } from './lifecycle-fakes.js';

const PEER: ChannelPeer = { ip: '127.0.0.1', port: 7001, peer_id: 'ab'.repeat(20), sid: 'p1', role: 'viewer' };

function rig(over: Partial<ClientLifecycleOptions> = {}): {
  clock: ManualClock;
  calls: Calls;
  tracker: FakeTracker;
  session: FakeSession;
  swarm: FakeSwarm;
  life: ClientLifecycle;
  ends: ClientEnd[];
} {
  const clock = new ManualClock();
  const calls: Calls = [];
  const tracker = new FakeTracker(calls);
  const session = new FakeSession(calls);
  const swarm = new FakeSwarm(calls);
  const life = new ClientLifecycle({ tracker, session, swarm, clock, reannounceBelow: 12, ...over });
  const ends: ClientEnd[] = [];
  life.on('ended', (e) => ends.push(e));
  return { clock, calls, tracker, session, swarm, life, ends };
}

test('a lost channel is reopened after trackerReconnectMs, then retried every trackerRetryMs, one loop however often it is lost', async () => {
  const { clock, tracker, swarm, life } = rig();
  life.start();
  tracker.next = () => {
    throw new InternalError('tracker unreachable');
  };
  tracker.emit('lost', new Error('closed'));
  tracker.emit('lost', new Error('closed again'));
  clock.advance(DEFAULTS.peer.trackerReconnectMs - 1);
  assert.equal(tracker.starts, 0, 'not before the reconnect delay');
  clock.advance(1);
  assert.equal(tracker.starts, 1, 'one attempt for two losses');
  await settle();
  tracker.emit('lost', new Error('lost while retrying'));
  clock.advance(DEFAULTS.peer.trackerRetryMs - 1);
  assert.equal(tracker.starts, 1, 'the retry waits trackerRetryMs');
  clock.advance(1);
  assert.equal(tracker.starts, 2, 'still one loop: the loss during the wait added no attempt');
  await settle();
  tracker.next = () => [PEER];
  clock.advance(DEFAULTS.peer.trackerRetryMs);
  assert.equal(tracker.starts, 3);
  await settle();
  assert.deepEqual(swarm.dialled, [[PEER]], 'the peers of the reopened channel are dialled');
  clock.advance(10 * DEFAULTS.peer.trackerRetryMs);
  assert.equal(tracker.starts, 3, 'the loop stops once the channel is back');
  assert.equal(life.ended, false);
});

test('a ClientError on reconnect ends the session: session_ended, step C without a disconnect id, no further attempt', async () => {
  const { clock, calls, tracker, life, ends } = rig();
  life.start();
  const refusal = new ClientError('session_ended', 'session s1 has ended (kicked)');
  tracker.next = () => {
    throw refusal;
  };
  tracker.emit('lost', new Error('closed'));
  clock.advance(DEFAULTS.peer.trackerReconnectMs);
  await settle();
  await settle();
  assert.deepEqual(ends, [{ kind: 'session_ended', reason: refusal.message, error: refusal }]);
  assert.deepEqual(calls, ['session.stop', 'swarm.leaveAll:session s1 has ended (kicked)', 'tracker.stopped:-', 'swarm.close']);
  clock.advance(60_000);
  assert.equal(tracker.starts, 1, 'a refusal is not retried');
  assert.equal(clock.timers, 0, 'no timer left behind');
});

test("the operator's disconnect runs step C in order (renewals stop, before-leave, peers told, tracker answered with the id, swarm closed) and ends 'kicked'", async () => {
  const r = rig({ beforeLeave: () => void r.calls.push('beforeLeave') });
  r.tracker.emit('disconnect', { id: 'd-0', reason: 'before start' });
  await settle();
  assert.deepEqual(r.calls, [], 'not acted on before start()');
  r.life.start();
  r.tracker.emit('disconnect', { id: 'd-42', reason: 'payment failed' });
  await settle();
  assert.deepEqual(r.calls, ['session.stop', 'beforeLeave', 'swarm.leaveAll:payment failed', 'tracker.stopped:d-42', 'swarm.close']);
  assert.deepEqual(r.ends, [{ kind: 'kicked', reason: 'payment failed' }]);
  assert.equal(r.clock.timers, 0, 'the re-announce timer is cancelled');
});

test('stop is idempotent: one step C however many stops and ends race, every caller waits for it, one ended event', async () => {
  const { calls, tracker, session, life, ends } = rig();
  life.start();
  const a = life.stop('viewer stopped');
  const b = life.stop('again');
  tracker.emit('disconnect', { id: 'd-1', reason: 'late kick' });
  session.emit('ended', new ClientError('session_ended', 'renewal refused'));
  await Promise.all([a, b]);
  await life.stop('after the end');
  await settle();
  assert.deepEqual(calls, ['session.stop', 'swarm.leaveAll:viewer stopped', 'tracker.stopped:-', 'swarm.close']);
  assert.deepEqual(ends, [{ kind: 'stopped', reason: 'viewer stopped' }]);
});

test('a renewal the control server refuses ends the session as session_ended', async () => {
  const { calls, session, life, ends } = rig();
  life.start();
  assert.equal(session.started, 1, 'start() starts the token renewals');
  const err = new ClientError('session_ended', 'subscription lapsed');
  session.emit('ended', err);
  await settle();
  assert.deepEqual(ends, [{ kind: 'session_ended', reason: 'subscription lapsed', error: err }]);
  assert.equal(calls.at(-1), 'swarm.close');
});

test('short of peers, the client re-announces every reannounceMs while the channel is open; the source (null) never does', () => {
  const { clock, tracker, swarm, life } = rig({ reannounceBelow: 12 });
  life.start();
  swarm.peerCount = 11;
  clock.advance(DEFAULTS.peer.reannounceMs - 1);
  assert.equal(tracker.announces, 0);
  clock.advance(1);
  assert.equal(tracker.announces, 1);
  swarm.peerCount = 12;
  clock.advance(DEFAULTS.peer.reannounceMs);
  assert.equal(tracker.announces, 1, 'enough peers: no announce');
  swarm.peerCount = 0;
  tracker.connected = false;
  clock.advance(DEFAULTS.peer.reannounceMs);
  assert.equal(tracker.announces, 1, 'no announce on a closed channel (the reconnect loop reopens it)');

  const src = rig({ reannounceBelow: null });
  src.life.start();
  src.clock.advance(10 * DEFAULTS.peer.reannounceMs);
  assert.equal(src.tracker.announces, 0);
  assert.equal(src.clock.timers, 0, 'no re-announce timer at all');
});

test('revocations are refused from construction on (the first announce may list some), once each; later peers lists are dialled', () => {
  const { tracker, swarm, life } = rig();
  tracker.emit('revoked', { id: 'revoked:s9', sid: 's9' });
  assert.deepEqual(swarm.revoked, ['s9']);
  life.start();
  tracker.emit('revoked', { id: 'r-2', sid: 's8' });
  assert.deepEqual(swarm.revoked, ['s9', 's8'], 'start() wires no second revoked listener');
  tracker.emit('peers', [PEER]);
  assert.deepEqual(swarm.dialled, [[PEER]]);
});

test('join dials the first peer list; when the tracker refuses, the swarm and channel are closed and the refusal thrown', async () => {
  const ok = rig();
  ok.tracker.next = () => [PEER];
  await ok.life.join();
  assert.deepEqual(ok.swarm.dialled, [[PEER]]);
  assert.deepEqual(ok.calls, []);

  const refused = rig();
  const err = new ClientError('forbidden', 'token refused');
  refused.tracker.next = () => {
    throw err;
  };
  await assert.rejects(refused.life.join(), err);
  assert.deepEqual(refused.calls, ['swarm.close', 'tracker.close']);
});

test('a lost channel moves to the next tracker of the list, and on while each fails (wrapping around), the swarm and session untouched', async () => {
  const { clock, calls, tracker, session, swarm, life } = rig();
  tracker.urls = ['ws://t1/ws', 'ws://t2/ws', 'ws://t3/ws'];
  life.start();
  const dead = new Set(['ws://t2/ws', 'ws://t3/ws']);
  tracker.next = () => {
    if (dead.has(tracker.urls[tracker.at] ?? '')) throw new InternalError('connection refused');
    return [PEER];
  };
  tracker.emit('lost', new Error('tracker t1 closed the channel'));
  clock.advance(DEFAULTS.peer.trackerReconnectMs);
  await settle();
  assert.deepEqual(tracker.startedOn, ['ws://t2/ws'], 'the first attempt goes to the next tracker, not the lost one');
  clock.advance(DEFAULTS.peer.trackerRetryMs);
  await settle();
  assert.deepEqual(tracker.startedOn, ['ws://t2/ws', 'ws://t3/ws']);
  dead.delete('ws://t3/ws');
  dead.add('ws://t1/ws');
  clock.advance(DEFAULTS.peer.trackerRetryMs);
  await settle();
  assert.deepEqual(tracker.startedOn, ['ws://t2/ws', 'ws://t3/ws', 'ws://t1/ws'], 'wraps around the list');
  clock.advance(DEFAULTS.peer.trackerRetryMs);
  await settle();
  assert.deepEqual(tracker.startedOn, ['ws://t2/ws', 'ws://t3/ws', 'ws://t1/ws', 'ws://t2/ws']);
  dead.delete('ws://t2/ws');
  clock.advance(DEFAULTS.peer.trackerRetryMs);
  await settle();
  assert.deepEqual(tracker.startedOn.at(-1), 'ws://t3/ws');
  assert.deepEqual(swarm.dialled, [[PEER]], "the new tracker's peers are dialled");
  clock.advance(10 * DEFAULTS.peer.trackerRetryMs);
  assert.equal(tracker.starts, 5, 'no attempt once listed again');
  assert.equal(life.ended, false);
  assert.ok(calls.every((c) => c === 'tracker.close'), `only failed channels were closed: ${calls.join(', ')}`);
  assert.equal(session.started, 1, 'renewals were never stopped or restarted');
});

test('a refusal from the tracker moved to ends the session: no hop to a third tracker to dodge it', async () => {
  const { clock, calls, tracker, life, ends } = rig();
  tracker.urls = ['ws://t1/ws', 'ws://t2/ws', 'ws://t3/ws'];
  life.start();
  const refusal = new ClientError('token_revoked', 'tracker refused: session revoked');
  tracker.next = () => {
    throw refusal;
  };
  tracker.emit('lost', new Error('closed'));
  clock.advance(DEFAULTS.peer.trackerReconnectMs);
  await settle();
  await settle();
  assert.deepEqual(tracker.startedOn, ['ws://t2/ws']);
  assert.deepEqual(ends, [{ kind: 'session_ended', reason: refusal.message, error: refusal }]);
  assert.deepEqual(calls, ['session.stop', `swarm.leaveAll:${refusal.message}`, 'tracker.stopped:-', 'swarm.close']);
  clock.advance(60_000);
  assert.equal(tracker.starts, 1);
});

test('join passes over an unreachable tracker for the next, each tried once; a refusal is final at once', async () => {
  const moved = rig();
  moved.tracker.urls = ['ws://t1/ws', 'ws://t2/ws'];
  moved.tracker.next = () => {
    if (moved.tracker.at === 0) throw new InternalError('cannot reach tracker t1');
    return [PEER];
  };
  await moved.life.join();
  assert.deepEqual(moved.tracker.startedOn, ['ws://t1/ws', 'ws://t2/ws']);
  assert.deepEqual(moved.swarm.dialled, [[PEER]]);
  assert.deepEqual(moved.calls, ['tracker.close'], 'only the failed channel closed; the swarm stays');

  const none = rig({ joinRetryMs: 0 });
  none.tracker.urls = ['ws://t1/ws', 'ws://t2/ws'];
  const last = new InternalError('cannot reach tracker t2');
  none.tracker.next = () => {
    throw none.tracker.at === 0 ? new InternalError('cannot reach tracker t1') : last;
  };
  await assert.rejects(none.life.join(), last);
  assert.deepEqual(none.tracker.startedOn, ['ws://t1/ws', 'ws://t2/ws'], 'each tried once');
  assert.deepEqual(none.calls.slice(-2), ['swarm.close', 'tracker.close']);

  const refused = rig();
  refused.tracker.urls = ['ws://t1/ws', 'ws://t2/ws'];
  const err = new ClientError('token_expired', 'tracker refused: token expired');
  refused.tracker.next = () => {
    throw err;
  };
  await assert.rejects(refused.life.join(), err);
  assert.deepEqual(refused.tracker.startedOn, ['ws://t1/ws'], 'a refusal is not taken to another tracker');
});

test('join tries a whole failed round again every trackerRetryMs until joinRetryMs, then gives up with the last error', async () => {
  // Both trackers up but unable to take us in (their Redis away): the round is retried, and succeeds once it is back.
  const back = rig({ retryMs: 2_000, joinRetryMs: 20_000 });
  back.tracker.urls = ['ws://t1/ws', 'ws://t2/ws'];
  let down = true;
  back.tracker.next = () => {
    if (down) throw new InternalError('tracker unavailable: the tracker cannot reach its swarm store right now');
    return [PEER];
  };
  const joined = back.life.join();
  await settle();
  assert.deepEqual(back.tracker.startedOn, ['ws://t1/ws', 'ws://t2/ws'], 'one round, then a wait');
  back.clock.advance(1_999);
  await settle();
  assert.equal(back.tracker.starts, 2, 'nothing before trackerRetryMs');
  down = false;
  back.clock.advance(1);
  await joined;
  assert.deepEqual(back.tracker.startedOn, ['ws://t1/ws', 'ws://t2/ws', 'ws://t1/ws']);
  assert.deepEqual(back.swarm.dialled, [[PEER]]);
  assert.ok(!back.calls.includes('swarm.close'), 'the swarm stays');

  // Never back: rounds every 2 s until 20 s would pass, then the last error, swarm and channel closed.
  const gone = rig({ retryMs: 2_000, joinRetryMs: 5_000 });
  const last = new InternalError('cannot reach tracker t1');
  gone.tracker.next = () => {
    throw last;
  };
  const failed = assert.rejects(gone.life.join(), last);
  for (let i = 0; i < 5; i++) {
    await settle();
    gone.clock.advance(2_000);
  }
  await failed;
  assert.equal(gone.tracker.starts, 3, 'at 0, 2 and 4 s; a fourth at 6 s would pass joinRetryMs');
  assert.deepEqual(gone.calls.slice(-2), ['swarm.close', 'tracker.close']);
});
