import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySwarmStore } from '../../src/store/memory-swarm-store.js';
import { ManualClock } from '../../src/core/clock.js';
import { createTracker } from '../../src/tracker/create-tracker.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import { controlLinkUrl } from '../../src/tracker/control-link-client.js';
import {
  advanceUntil,
  announceHttp,
  announceQuery,
  failureOf,
  infoHashOf,
  openChannel,
  peerIdOf,
  startFakeControl,
  startRig,
  type ChannelClient,
  type Rig,
} from './helpers.js';

const H = infoHashOf('live').toString('hex');
const announce = (id: string, token: string, n: number) => ({
  type: 'announce',
  id,
  token,
  info_hash: H,
  peer_id: peerIdOf(n).toString('hex'),
  port: 8000 + n,
});

describe('control link', () => {
  let rig: Rig | undefined;
  const open: ChannelClient[] = [];
  afterEach(async () => {
    for (const c of open.splice(0)) await c.close();
    await rig?.close();
    rig = undefined;
  });
  const channelFor = async (r: Rig, sid: string, n: number, role: 'viewer' | 'source' = 'viewer'): Promise<ChannelClient> => {
    const c = await openChannel(r.wsUrl);
    open.push(c);
    c.send(announce(`a-${sid}`, await r.token({ sid, prg: 'live', role }), n));
    assert.equal((await c.next())['type'], 'peers');
    return c;
  };

  it('builds the link URL from the control URL', () => {
    assert.equal(controlLinkUrl('http://ctl:8700/'), 'ws://ctl:8700/v1/tracker/link');
    assert.equal(controlLinkUrl('https://ctl.example'), 'wss://ctl.example/v1/tracker/link');
  });

  it('says hello with the bearer secret, its id and URLs, and gets ready on welcome', async () => {
    rig = await startRig();
    const hello = await rig.control.received.waitFor((m) => m.type === 'hello');
    assert.deepEqual(rig.control.authHeaders, ['Bearer tracker-secret-for-tests']);
    assert.equal(hello.type, 'hello');
    if (hello.type === 'hello') {
      assert.equal(hello.announce_url, rig.announceUrl);
      assert.equal(hello.ws_url, rig.wsUrl);
      assert.equal(hello.tracker_id, new URL(rig.announceUrl).host);
      assert.deepEqual(hello.sessions, []);
    }
  });

  it('resends join and leave every retry period until acked', async () => {
    rig = await startRig({ dropFirstAck: true });
    const r = rig;
    const c = await channelFor(r, 'v1', 1);
    const first = await r.control.received.waitFor((m) => m.type === 'join' && m.sid === 'v1');
    assert.equal(first.type, 'join');
    const copies = () => r.control.received.items.filter((m) => m.type !== 'hello' && 'id' in m && m.id === (first as { id: string }).id).length;
    assert.equal(copies(), 1);
    r.clock.advance(999);
    r.clock.advance(1);
    await r.control.received.waitFor((m) => m.type === 'join' && m.id === (first as { id: string }).id, r.control.received.items.indexOf(first) + 1);
    assert.equal(copies(), 2);
    // The second copy was acked: no third. A leave goes through the same loop.
    c.send({ type: 'stopped', id: 'bye' });
    assert.deepEqual(await c.next(), { type: 'ack', id: 'bye' });
    const leave = await r.control.received.waitFor((m) => m.type === 'leave' && m.sid === 'v1');
    r.clock.advance(1_000);
    await r.control.received.waitFor((m) => m.type === 'leave' && m.id === (leave as { id: string }).id, r.control.received.items.indexOf(leave) + 1);
    // Everything is acked now: further periods send nothing. A channel round trip lets any stray send arrive first.
    await r.control.flush();
    const before = r.control.received.items.length;
    r.clock.advance(5_000);
    await channelFor(r, 'probe', 9);
    await r.control.received.waitFor((m) => m.type === 'join' && m.sid === 'probe');
    const after = r.control.received.items.slice(before);
    assert.deepEqual(after.map((m) => m.type), ['join']);
  });

  it('redials after the link drops, says hello with the sessions held, and resends what was not acked', async () => {
    rig = await startRig({ dropFirstAck: true });
    const r = rig;
    await channelFor(r, 'v1', 1);
    const join = await r.control.received.waitFor((m) => m.type === 'join' && m.sid === 'v1');
    r.control.kick();
    // The redial waits for its backoff on the injected clock.
    const hello2 = await advanceUntil(r.clock, r.control.received.waitFor((m) => m.type === 'hello', 1));
    assert.equal(r.control.connections, 2);
    assert.equal(hello2.type === 'hello' && hello2.sessions.join(), 'v1');
    await r.control.received.waitFor((m) => m.type === 'join' && m.id === (join as { id: string }).id, r.control.received.items.indexOf(hello2));
    // Still admitting with the key it has.
    await channelFor(r, 'v2', 2);
  });

  it('a disconnect is acked, revokes the session and is pushed to its channel; stopped answers with the ref', async () => {
    rig = await startRig();
    const r = rig;
    const c = await channelFor(r, 'kick-me', 1);
    await channelFor(r, 'other', 2);
    r.control.send({ type: 'disconnect', id: 'dc-1', sid: 'kick-me', reason: 'operator' });
    await r.control.received.waitFor((m) => m.type === 'ack' && m.id === 'dc-1');
    assert.deepEqual(await c.next(), { type: 'disconnect', id: 'dc-1', reason: 'operator' });
    // Revoked: no longer listed, and refused.
    const o = await openChannel(r.wsUrl);
    open.push(o);
    o.send(announce('x', await r.token({ sid: 'kick-me', prg: 'live' }), 1));
    assert.equal((await o.next())['code'], 'token_revoked');
    o.send(announce('y', await r.token({ sid: 'third', prg: 'live' }), 3));
    const listed = ((await o.next())['peers'] as Array<Record<string, unknown>>).map((p) => p['sid']);
    assert.deepEqual(listed, ['other']);
    c.send({ type: 'heartbeat' });
    assert.equal((await c.next())['code'], 'token_revoked');
    // Step C → D.
    c.send({ type: 'stopped', id: 's', ref: 'dc-1' });
    assert.deepEqual(await c.next(), { type: 'ack', id: 's' });
    const leave = await r.control.received.waitFor((m) => m.type === 'leave' && m.sid === 'kick-me');
    assert.deepEqual({ ...leave, id: 0, at: 0 }, { type: 'leave', id: 0, sid: 'kick-me', reason: 'stopped', ref: 'dc-1', at: 0 });
  });

  it('a disconnected client that goes silent leaves by timeout, still answering the disconnect', async () => {
    rig = await startRig({ heartbeatTimeoutMs: 2_000 });
    const r = rig;
    await channelFor(r, 'mute', 1);
    r.control.send({ type: 'disconnect', id: 'dc-2', sid: 'mute', reason: 'unpaid' });
    await r.control.received.waitFor((m) => m.type === 'ack' && m.id === 'dc-2');
    r.clock.advance(3_000);
    const leave = await r.control.received.waitFor((m) => m.type === 'leave' && m.sid === 'mute');
    assert.equal(leave.type === 'leave' && `${leave.reason}/${leave.ref}`, 'timeout/dc-2');
  });

  it('a disconnect for a session the tracker does not hold is answered with its leave at once', async () => {
    rig = await startRig();
    rig.control.send({ type: 'disconnect', id: 'dc-3', sid: 'ghost', reason: 'operator' });
    const leave = await rig.control.received.waitFor((m) => m.type === 'leave' && m.sid === 'ghost');
    assert.equal(leave.type === 'leave' && `${leave.reason}/${leave.ref}`, 'revoked/dc-3');
  });

  it('a source outranks a viewer that squatted its swarm; the squatter is evicted', async () => {
    rig = await startRig();
    const r = rig;
    const squat = await r.token({ sid: 'squatter', prg: 'elsewhere' });
    const q = (token: string, n: number) => announceQuery({ infoHash: infoHashOf('live'), peerId: peerIdOf(n), port: 7000 + n, token });
    assert.equal(failureOf(await announceHttp(r.announceUrl, q(squat, 1))), undefined);
    const viewer = await r.token({ sid: 'fan', prg: 'live' });
    assert.equal(failureOf(await announceHttp(r.announceUrl, q(viewer, 2))), 'access token is for another program');
    const source = await r.token({ sid: 'src', prg: 'live', role: 'source' });
    assert.equal(failureOf(await announceHttp(r.announceUrl, q(source, 3))), undefined);
    const leave = await r.control.received.waitFor((m) => m.type === 'leave' && m.sid === 'squatter');
    assert.equal(leave.type === 'leave' && leave.reason, 'evicted');
    assert.equal(failureOf(await announceHttp(r.announceUrl, q(viewer, 2))), undefined);
    assert.equal(failureOf(await announceHttp(r.announceUrl, q(squat, 1))), 'access token is for another program');
    // A second source for another program cannot take it over.
    const rival = await r.token({ sid: 'rival', prg: 'elsewhere', role: 'source' });
    assert.equal(failureOf(await announceHttp(r.announceUrl, q(rival, 4))), 'access token is for another program');
  });

  it('a wrong secret never gets the link up, and stop() still ends cleanly', async () => {
    const control = await startFakeControl();
    const clock = new ManualClock();
    const tracker = await createTracker({ controlUrl: control.url, secret: 'wrong', clock, store: new MemorySwarmStore(), webServer: webServerFactory() });
    await tracker.start();
    // Refused, then redialled after the backoff.
    const second = new Promise<void>((resolve) => {
      const check = (): void => {
        if (control.authHeaders.length >= 2) resolve();
        else setImmediate(check);
      };
      check();
    });
    await advanceUntil(clock, second);
    assert.deepEqual(control.authHeaders.slice(0, 2), ['Bearer wrong', 'Bearer wrong']);
    assert.equal(control.connections, 0);
    await tracker.stop();
    await control.close();
  });
});
