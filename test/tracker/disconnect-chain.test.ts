/**
 * The tracker's side of ending a session: step B retried until the client's
 * `stopped`, the `revoked` push to the rest of the swarm, step D's leave with
 * the disconnect's id, and idempotence under duplicates and restarts.
 */
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createTracker, type Tracker } from '../../src/tracker/create-tracker.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import { MemorySwarmStore } from '../../src/store/memory-swarm-store.js';
import {
  announceHttp,
  announceQuery,
  failureOf,
  infoHashOf,
  openChannel,
  peerIdOf,
  SECRET,
  startRig,
  type ChannelClient,
  type Rig,
  type RigOptions,
} from './helpers.js';

type Msg = Record<string, unknown>;

const announce = (id: string, token: string, n: number, program = 'live'): Msg => ({
  type: 'announce',
  id,
  token,
  info_hash: infoHashOf(program).toString('hex'),
  peer_id: peerIdOf(n).toString('hex'),
  port: 8000 + n,
});

/** Frames are handled in order: once a bad frame's error is back, everything the tracker sent before has arrived. */
async function sync(c: ChannelClient): Promise<void> {
  const from = c.messages.items.length;
  c.send('{"sync":true}');
  await c.messages.waitFor((m) => m['type'] === 'error' && m['code'] === 'invalid_request', from);
}

const ofType = (c: ChannelClient, type: string): Msg[] => c.messages.items.filter((m) => m['type'] === type);

describe('disconnect chain (tracker side)', () => {
  let rig: Rig | undefined;
  const open: ChannelClient[] = [];
  afterEach(async () => {
    for (const c of open.splice(0)) await c.close();
    await rig?.close();
    rig = undefined;
  });
  const start = async (opts: RigOptions = {}): Promise<Rig> => {
    rig = await startRig({ clientRetryMs: 500, heartbeatTimeoutMs: 60_000, ...opts });
    return rig;
  };
  const join = async (r: Rig, sid: string, n: number, program = 'live'): Promise<ChannelClient> => {
    const c = await openChannel(r.wsUrl);
    open.push(c);
    c.send(announce(`a-${sid}`, await r.token({ sid, prg: program }), n, program));
    assert.equal((await c.messages.waitFor((m) => m['id'] === `a-${sid}`))['type'], 'peers');
    return c;
  };
  const disconnect = async (r: Rig, sid: string, id: string, reason = 'operator'): Promise<void> => {
    const from = r.control.received.items.length;
    r.control.send({ type: 'disconnect', id, sid, reason });
    await r.control.received.waitFor((m) => m.type === 'ack' && m.id === id, from);
  };
  const leaveOf = (r: Rig, sid: string) => r.control.received.waitFor((m) => m.type === 'leave' && m.sid === sid);

  it('resends the disconnect every clientRetryMs until stopped; the client ack alone does not stop it', async () => {
    const r = await start();
    const c = await join(r, 'kick', 1);
    await disconnect(r, 'kick', 'dc-1', 'unpaid');
    assert.deepEqual(await c.messages.waitFor((m) => m['type'] === 'disconnect'), { type: 'disconnect', id: 'dc-1', reason: 'unpaid' });
    c.send({ type: 'ack', id: 'dc-1' });
    await sync(c);
    r.clock.advance(499);
    await sync(c);
    assert.equal(ofType(c, 'disconnect').length, 1, 'not before the retry period');
    r.clock.advance(1);
    await sync(c);
    r.clock.advance(500);
    await sync(c);
    assert.equal(ofType(c, 'disconnect').length, 3);
    assert.equal(r.tracker.pendingDisconnects(), 1);
    // Step C → D: stopped with the disconnect's id ends the resends and reports the leave.
    c.send({ type: 'stopped', id: 'st-1', ref: 'dc-1' });
    await c.messages.waitFor((m) => m['type'] === 'ack' && m['id'] === 'st-1');
    const leave = await leaveOf(r, 'kick');
    assert.deepEqual({ ...leave, id: 0, at: 0 }, { type: 'leave', id: 0, sid: 'kick', reason: 'stopped', ref: 'dc-1', at: 0 });
    assert.equal(r.tracker.pendingDisconnects(), 0);
    await r.control.flush();
    r.clock.advance(5_000);
    await sync(c);
    assert.equal(ofType(c, 'disconnect').length, 3, 'no resend after stopped');
    assert.deepEqual(r.tracker.sessions(), []);
    // A second stopped is acked and reports nothing new.
    c.send({ type: 'stopped', id: 'st-1', ref: 'dc-1' });
    await sync(c);
    await r.control.flush();
    assert.equal(r.control.received.items.filter((m) => m.type === 'leave').length, 1);
  });

  it('pushes revoked to the other peers of the swarm only, resent until each acks', async () => {
    const r = await start();
    await join(r, 'kick', 1);
    const acker = await join(r, 'acker', 2);
    const mute = await join(r, 'mute', 3);
    const elsewhere = await join(r, 'elsewhere', 4, 'other-program');
    await disconnect(r, 'kick', 'dc-2');
    const first = await acker.messages.waitFor((m) => m['type'] === 'revoked');
    assert.equal(first['sid'], 'kick');
    assert.equal(typeof first['id'], 'string');
    assert.deepEqual(await mute.messages.waitFor((m) => m['type'] === 'revoked'), first, 'one id for the whole swarm');
    acker.send({ type: 'ack', id: first['id'] });
    await sync(acker);
    r.clock.advance(500);
    await sync(acker);
    await sync(mute);
    await sync(elsewhere);
    assert.equal(ofType(acker, 'revoked').length, 1, 'acked: not resent');
    assert.equal(ofType(mute, 'revoked').length, 2, 'unacked: resent');
    assert.equal(ofType(elsewhere, 'revoked').length, 0, 'another swarm hears nothing');
    assert.equal(r.tracker.pendingPushes(), 1);
    // A channel that closes is not retried any more.
    await mute.close();
    r.clock.advance(500);
    assert.equal(r.tracker.pendingPushes(), 0);
  });

  it('a client that ignores the disconnect and keeps heartbeating is dropped at the heartbeat timeout', async () => {
    const r = await start({ heartbeatTimeoutMs: 2_000 });
    const rogue = await join(r, 'rogue', 1);
    const fine = await join(r, 'fine', 2);
    await disconnect(r, 'rogue', 'dc-3');
    for (let t = 0; t < 8; t++) {
      rogue.send({ type: 'heartbeat' });
      fine.send({ type: 'heartbeat' });
      await sync(rogue);
      await sync(fine);
      r.clock.advance(500);
    }
    const leave = await leaveOf(r, 'rogue');
    assert.equal(leave.type === 'leave' && `${leave.reason}/${leave.ref}`, 'timeout/dc-3');
    assert.ok(ofType(rogue, 'disconnect').length >= 4, 'resent while it stayed');
    assert.ok(ofType(rogue, 'error').some((m) => m['code'] === 'token_revoked'), 'its heartbeats are refused');
    assert.deepEqual(r.tracker.sessions(), ['fine']);
    assert.equal(r.tracker.pendingDisconnects(), 0);
    // Its announces stay refused, on any channel, and it hears its disconnect again (it proved its key).
    const again = await openChannel(r.wsUrl);
    open.push(again);
    again.send(announce('re', await r.token({ sid: 'rogue', prg: 'live' }), 1));
    assert.deepEqual(await again.next(), { type: 'disconnect', id: 'dc-3', reason: 'operator' });
    assert.deepEqual(await again.next(), { type: 'error', id: 're', code: 'token_revoked', message: 'session revoked' });
    // It is never listed again.
    const newcomer = await openChannel(r.wsUrl);
    open.push(newcomer);
    newcomer.send(announce('nc', await r.token({ sid: 'newcomer', prg: 'live' }), 5));
    assert.deepEqual(((await newcomer.next())['peers'] as Msg[]).map((p) => p['sid']), ['fine']);
  });

  it('a revoked session is not listed even before it leaves', async () => {
    const r = await start();
    await join(r, 'kick', 1);
    await join(r, 'stay', 2);
    await disconnect(r, 'kick', 'dc-4');
    const newcomer = await openChannel(r.wsUrl);
    open.push(newcomer);
    newcomer.send(announce('nc', await r.token({ sid: 'newcomer', prg: 'live' }), 5));
    assert.deepEqual(((await newcomer.next())['peers'] as Msg[]).map((p) => p['sid']), ['stay']);
    assert.ok(r.tracker.sessions().includes('kick'), 'held until it answers or times out');
    assert.ok(r.tracker.isRevoked('kick'));
  });

  it('a duplicate disconnect is acked again and not processed twice', async () => {
    const r = await start();
    const c = await join(r, 'kick', 1);
    const peer = await join(r, 'peer', 2);
    await disconnect(r, 'kick', 'dc-5');
    await disconnect(r, 'kick', 'dc-5');
    await sync(c);
    await sync(peer);
    assert.equal(r.control.received.items.filter((m) => m.type === 'ack' && m.id === 'dc-5').length, 2);
    assert.equal(ofType(c, 'disconnect').length, 1);
    assert.equal(ofType(peer, 'revoked').length, 1);
    r.clock.advance(500);
    await sync(c);
    assert.equal(ofType(c, 'disconnect').length, 2, 'one resend loop, not two');
  });

  it('a disconnect for a session the tracker does not hold: ack and leave revoked with the ref, once', async () => {
    const r = await start();
    await disconnect(r, 'ghost', 'dc-6');
    const leave = await leaveOf(r, 'ghost');
    assert.equal(leave.type === 'leave' && `${leave.reason}/${leave.ref}`, 'revoked/dc-6');
    await disconnect(r, 'ghost', 'dc-6');
    await r.control.flush();
    assert.equal(r.control.received.items.filter((m) => m.type === 'leave').length, 1);
    // So is one for a session that already left on its own.
    const c = await join(r, 'quit', 1);
    c.send({ type: 'stopped', id: 'st' });
    await c.messages.waitFor((m) => m['type'] === 'ack' && m['id'] === 'st');
    await disconnect(r, 'quit', 'dc-7');
    await r.control.received.waitFor((m) => m.type === 'leave' && m.sid === 'quit' && m.ref === 'dc-7');
  });

  it('a stopped on a channel not bound to the session still answers its disconnect (by ref), once the channel proved its key', async () => {
    const r = await start();
    const c = await join(r, 'kick', 1);
    await disconnect(r, 'kick', 'dc-8');
    await c.close();
    // Knowing the disconnect's id is not enough: a channel that proved no key stops nothing.
    const stranger = await openChannel(r.wsUrl);
    open.push(stranger);
    stranger.send({ type: 'stopped', id: 'st0', ref: 'dc-8' });
    assert.equal((await stranger.next())['code'], 'proof_invalid');
    assert.ok(r.tracker.sessions().includes('kick'));
    // The key holder's announce is refused (revoked), but it proved the key: its stopped counts.
    const fresh = await openChannel(r.wsUrl);
    open.push(fresh);
    fresh.send(announce('re', await r.token({ sid: 'kick', prg: 'live' }), 1));
    assert.equal((await fresh.next())['code'], 'token_revoked');
    fresh.send({ type: 'stopped', id: 'st', ref: 'dc-8' });
    assert.deepEqual(await fresh.next(), { type: 'ack', id: 'st' });
    const leave = await leaveOf(r, 'kick');
    assert.equal(leave.type === 'leave' && `${leave.reason}/${leave.ref}`, 'stopped/dc-8');
  });

  it('a stock HTTP client, which no message can reach, leaves at once when disconnected', async () => {
    const r = await start();
    const token = await r.token({ sid: 'stock', prg: 'live' });
    const q = announceQuery({ infoHash: infoHashOf('live'), peerId: peerIdOf(1), port: 7001, token });
    assert.equal(failureOf(await announceHttp(r.announceUrl, q)), undefined);
    await disconnect(r, 'stock', 'dc-9');
    const leave = await leaveOf(r, 'stock');
    assert.equal(leave.type === 'leave' && `${leave.reason}/${leave.ref}`, 'revoked/dc-9');
    assert.equal(failureOf(await announceHttp(r.announceUrl, q)), 'session revoked');
    assert.equal(r.tracker.pendingDisconnects(), 0);
  });
});

describe('disconnect across a tracker restart', () => {
  it('the new tracker answers a re-sent disconnect with ack and leave, and keeps refusing sids the welcome lists', async () => {
    const rig = await startRig({ heartbeatTimeoutMs: 60_000 });
    const c = await openChannel(rig.wsUrl);
    c.send(announce('a', await rig.token({ sid: 'kick', prg: 'live' }), 1));
    await c.next();
    await rig.control.received.waitFor((m) => m.type === 'join' && m.sid === 'kick');
    // The old tracker dies mid-disconnect (before acking); its client's channel goes with it.
    await rig.tracker.stop();
    await c.closed;
    rig.control.welcomeRevoked = ['kick'];
    let fresh: Tracker | undefined;
    const store = new MemorySwarmStore();
    try {
      fresh = await createTracker({ controlUrl: rig.control.url, secret: SECRET, clock: rig.clock, store, heartbeatTimeoutMs: 60_000, webServer: webServerFactory() });
      const { wsUrl } = await fresh.start();
      await fresh.ready;
      const hello = rig.control.received.items.filter((m) => m.type === 'hello').at(-1);
      assert.ok(hello?.type === 'hello');
      assert.deepEqual(hello.sessions, [], 'holds no sessions');
      const from = rig.control.received.items.length;
      rig.control.send({ type: 'disconnect', id: 'dc-r', sid: 'kick', reason: 'operator' });
      await rig.control.received.waitFor((m) => m.type === 'ack' && m.id === 'dc-r', from);
      const leave = await rig.control.received.waitFor((m) => m.type === 'leave' && m.sid === 'kick', from);
      assert.equal(leave.type === 'leave' && `${leave.reason}/${leave.ref}`, 'revoked/dc-r');
      await rig.control.flush();
      assert.equal(fresh.pendingReports(), 0, 'the leave was acked');
      // The old client comes back with its still-valid token: told of its kick (so it ends as kicked), and refused.
      const back = await openChannel(wsUrl);
      back.send(announce('b', await rig.token({ sid: 'kick', prg: 'live' }), 1));
      assert.deepEqual(await back.next(), { type: 'disconnect', id: 'dc-r', reason: 'operator' });
      assert.deepEqual(await back.next(), { type: 'error', id: 'b', code: 'token_revoked', message: 'session revoked' });
      await back.close();
    } finally {
      await fresh?.stop();
      await store.close();
      await rig.close();
    }
  });
});
