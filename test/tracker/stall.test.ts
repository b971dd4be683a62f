/**
 * A stalled tracker (SIGSTOP, a blocked loop) does not judge its clients by
 * the time it could not read them. After a stall Node runs the late timers
 * before it reads the sockets: the test plays that order on the ManualClock
 * (jump without running timers, fire the late sweep, only then deliver the
 * heartbeats the clients sent meanwhile), and checks that a client that
 * truly went silent is still dropped at its timeout.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../../src/core/config.js';
import { infoHashOf, openChannel, peerIdOf, startRig, type ChannelClient, type Rig } from './helpers.js';

const H = infoHashOf('live').toString('hex');
const TIMEOUT_MS = 3_000;
const SWEEP_MS = DEFAULTS.trackerSweepMs;

/** Frames are handled in order: once a bad frame's error is back, everything sent before it was handled. */
async function sync(c: ChannelClient): Promise<void> {
  c.send('{"sync":true}');
  assert.equal((await c.next())['code'], 'invalid_request');
}

describe('tracker stall', () => {
  let rig: Rig;
  const open: ChannelClient[] = [];
  /** A session announced on its own channel. */
  const join = async (sid: string, n: number, ttlS?: number): Promise<ChannelClient> => {
    const c = await openChannel(rig.wsUrl);
    open.push(c);
    const role = n === 0 ? 'source' : 'viewer';
    const token = await rig.token({ sid, prg: 'live', role, ...(ttlS === undefined ? {} : { ttlS }) });
    c.send({ type: 'announce', id: `a-${sid}`, token, info_hash: H, peer_id: peerIdOf(n).toString('hex'), port: 8000 + n });
    assert.equal((await c.next())['type'], 'peers');
    return c;
  };
  const heartbeat = async (...cs: ChannelClient[]): Promise<void> => {
    for (const c of cs) {
      c.send({ type: 'heartbeat' });
      await sync(c);
    }
  };
  const leaves = (): Array<{ sid: string; reason: string }> =>
    rig.control.received.items.flatMap((m) => (m.type === 'leave' ? [{ sid: m.sid, reason: m.reason }] : []));

  beforeEach(async () => {
    rig = await startRig({ heartbeatTimeoutMs: TIMEOUT_MS });
  });
  afterEach(async () => {
    for (const c of open.splice(0)) await c.close();
    await rig.close();
  });

  it('a stall longer than the timeout ends nobody whose heartbeats were queued; a token that ran out unrenewed still ends', async () => {
    const src = await join('src', 0);
    const a = await join('a', 1);
    const b = await join('b', 2);
    const renewer = await join('renewer', 3, 5);
    const lapse = await join('lapse', 4, 5);
    await heartbeat(src, a, b, renewer, lapse);
    // SIGSTOP for 10 s: more than three timeouts, and both short tokens run out meanwhile.
    rig.clock.jump(10_000);
    // SIGCONT: the late sweep runs first, before a single queued heartbeat is read.
    rig.clock.advance(0);
    assert.deepEqual(rig.tracker.sessions().sort(), ['a', 'b', 'lapse', 'renewer', 'src']);
    // Then the loop reads what the clients sent during the stall (the renewal among it).
    renewer.send({ type: 'heartbeat', token: await rig.token({ sid: 'renewer', prg: 'live', ttlS: 60 }) });
    await heartbeat(src, a, b, renewer, lapse);
    // The next sweep judges: the heartbeats count, an absolute token expiry is not excused.
    rig.clock.advance(SWEEP_MS);
    assert.deepEqual(rig.tracker.sessions().sort(), ['a', 'b', 'renewer', 'src']);
    await rig.control.received.waitFor((m) => m.type === 'leave' && m.sid === 'lapse');
    assert.deepEqual(leaves(), [{ sid: 'lapse', reason: 'expired' }]);
    // And running on normally, the heartbeats keep them.
    for (let t = 0; t < 5; t++) {
      await heartbeat(src, a, b, renewer);
      rig.clock.advance(SWEEP_MS);
    }
    assert.deepEqual(rig.tracker.sessions().sort(), ['a', 'b', 'renewer', 'src']);
  });

  it('after a stall, a client heard only a sweep later is kept, and one that went silent is still dropped at its timeout', async () => {
    const src = await join('src', 0);
    const alive = await join('alive', 1);
    const silent = await join('silent', 2);
    const slow = await join('slow', 3);
    // Gone without `stopped`: only its timeout ends it.
    await silent.close();
    rig.clock.jump(10_000);
    rig.clock.advance(0);
    assert.ok(rig.tracker.sessions().includes('silent'), 'the stalled time is not held against it');
    // `slow` is heard only after the first sweep past the stall (its channel was being redialled, say):
    // the stalled time was credited, so that sweep does not hold the stall against it either.
    await heartbeat(src, alive);
    rig.clock.advance(SWEEP_MS);
    await heartbeat(slow);
    assert.ok(rig.tracker.sessions().includes('slow'));
    // Within its timeout of running time, it goes; the others' heartbeats keep them.
    for (let t = 0; t * SWEEP_MS <= TIMEOUT_MS + SWEEP_MS && rig.tracker.sessions().includes('silent'); t++) {
      await heartbeat(src, alive, slow);
      rig.clock.advance(SWEEP_MS);
    }
    assert.deepEqual(rig.tracker.sessions().sort(), ['alive', 'slow', 'src']);
    await rig.control.received.waitFor((m) => m.type === 'leave' && m.sid === 'silent');
    assert.deepEqual(leaves(), [{ sid: 'silent', reason: 'timeout' }]);
  });

  it('in normal running a silent client goes at its timeout, and a sweep late by less than the margin still judges', async () => {
    const src = await join('src', 0);
    const silent = await join('silent', 1);
    const late = await join('late', 2);
    await silent.close();
    // Normal running: kept up to its timeout, gone at the first sweep past it.
    for (let t = SWEEP_MS; t <= TIMEOUT_MS; t += SWEEP_MS) {
      await heartbeat(src, late);
      rig.clock.advance(SWEEP_MS);
      assert.ok(rig.tracker.sessions().includes('silent'), `kept at ${t} ms`);
    }
    await heartbeat(src);
    rig.clock.advance(SWEEP_MS);
    assert.deepEqual(rig.tracker.sessions().sort(), ['late', 'src']);
    // `late` stops now; the sweep that would find it past its timeout comes a little late (a busy loop, not a stall).
    await heartbeat(late);
    await late.close();
    for (let t = SWEEP_MS; t <= TIMEOUT_MS; t += SWEEP_MS) {
      await heartbeat(src);
      rig.clock.advance(SWEEP_MS);
    }
    await heartbeat(src);
    rig.clock.jump(SWEEP_MS + DEFAULTS.trackerStallMarginMs / 2);
    rig.clock.advance(0);
    assert.deepEqual(rig.tracker.sessions(), ['src']);
    await rig.control.received.waitFor((m) => m.type === 'leave' && m.sid === 'late');
    assert.deepEqual(leaves(), [
      { sid: 'silent', reason: 'timeout' },
      { sid: 'late', reason: 'timeout' },
    ]);
  });
});
