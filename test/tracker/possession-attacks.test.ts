/**
 * Attacks with a harvested access token (no client key) against a session a
 * gatecast client holds over its tracker channel, played over real sockets:
 * HTTP `event=stopped`, HTTP re-pointing, a new WebSocket without the key, a
 * forged proof, a proof replayed from another channel, a renewal naming
 * another key. Each must change nothing. Stock HTTP clients keep working for
 * sessions no channel holds; the key holder may reconnect.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { rawPublicKey } from '../../src/core/piece.js';
import { signAccessToken } from '../../src/protocol/token.js';
import {
  announceHttp,
  announceQuery,
  failureOf,
  infoHashOf,
  keyOf,
  openChannel,
  peerIdOf,
  proofFor,
  startRig,
  type ChannelClient,
  type Rig,
} from './helpers.js';

const HASH = infoHashOf('live');
const H = HASH.toString('hex');
const HELD = 'this session is held by a gatecast channel: an HTTP announce cannot change it';

describe('a harvested token against a channel-held session', () => {
  let rig: Rig;
  let victim: ChannelClient;
  let token: string;
  const open: ChannelClient[] = [];
  const channel = async (sign = true): Promise<ChannelClient> => {
    const c = await openChannel(rig.wsUrl, { sign });
    open.push(c);
    return c;
  };
  const announce = (id: string, tok: string, port: number, extra: Record<string, unknown> = {}) => ({
    type: 'announce',
    id,
    token: tok,
    info_hash: H,
    peer_id: peerIdOf(1).toString('hex'),
    port,
    ...extra,
  });
  /** The victim's swarm entry as other peers are told it. */
  const entry = async () => (await rig.tracker.peers(H)).find((p) => p.sid === 'victim');
  const leaves = () => rig.control.received.items.filter((m) => m.type === 'leave' && m.sid === 'victim');

  beforeEach(async () => {
    rig = await startRig();
    token = await rig.token({ sid: 'victim', prg: 'live' });
    victim = await channel();
    victim.send(announce('v', token, 8001));
    assert.equal((await victim.next())['type'], 'peers');
    assert.deepEqual({ ...(await entry()), lastSeen: 0 }, { sid: 'victim', user: 'user-victim', peerId: peerIdOf(1).toString('hex'), ip: '127.0.0.1', port: 8001, role: 'viewer', lastSeen: 0 });
  });
  afterEach(async () => {
    for (const c of open.splice(0)) await c.close();
    await rig.close();
  });

  it('HTTP event=stopped is refused and the session stays', async () => {
    const q = announceQuery({ infoHash: HASH, peerId: peerIdOf(1), port: 8001, token, extra: 'event=stopped' });
    assert.equal(failureOf(await announceHttp(rig.announceUrl, q)), HELD);
    assert.equal((await entry())?.port, 8001);
    assert.ok(rig.tracker.sessions().includes('victim'));
    // The victim's channel still speaks for it: its heartbeat is accepted (no error comes back before the sync's).
    victim.send({ type: 'heartbeat' });
    victim.send('{"sync":1}');
    assert.equal((await victim.next())['code'], 'invalid_request');
    await rig.control.flush();
    assert.equal(leaves().length, 0, 'no leave reported');
  });

  it('an HTTP announce from another port cannot re-point the entry', async () => {
    const q = announceQuery({ infoHash: HASH, peerId: peerIdOf(66), port: 9666, token });
    assert.equal(failureOf(await announceHttp(rig.announceUrl, q)), HELD);
    const e = await entry();
    assert.equal(e?.port, 8001);
    assert.equal(e?.peerId, peerIdOf(1).toString('hex'));
  });

  it('HTTP is refused even after the channel session left, while the token it proved is valid', async () => {
    victim.send({ type: 'stopped', id: 'bye' });
    assert.deepEqual(await victim.next(), { type: 'ack', id: 'bye' });
    assert.equal(await entry(), undefined);
    const q = announceQuery({ infoHash: HASH, peerId: peerIdOf(66), port: 9666, token });
    assert.equal(failureOf(await announceHttp(rig.announceUrl, q)), HELD);
    assert.equal(await entry(), undefined, 'the attacker did not take the session over');
  });

  it('the token on a new WebSocket without a proof, or with a proof by another key, is refused and changes nothing', async () => {
    const attacker = await channel(false);
    attacker.send(announce('no-proof', token, 9666));
    assert.deepEqual(await attacker.next(), {
      type: 'error',
      id: 'no-proof',
      code: 'proof_invalid',
      message: "announce carries no proof: sign the channel's nonce with the session key",
    });
    const mine = generateKeyPairSync('ed25519').privateKey;
    const forged = proofFor(mine, attacker.nonce, { sid: 'victim', info_hash: H, peer_id: peerIdOf(1).toString('hex'), port: 9666 });
    attacker.send(announce('forged', token, 9666, { proof: forged }));
    assert.equal((await attacker.next())['code'], 'proof_invalid');
    // Nor can it stop the victim or speak for it on that channel.
    attacker.send({ type: 'stopped', id: 'st' });
    assert.equal((await attacker.next())['code'], 'proof_invalid');
    attacker.send({ type: 'heartbeat', token });
    assert.equal((await attacker.next())['code'], 'invalid_request');
    const e = await entry();
    assert.equal(e?.port, 8001);
    assert.equal(e?.ip, '127.0.0.1');
    assert.ok(rig.tracker.sessions().includes('victim'));
    await rig.control.flush();
    assert.equal(leaves().length, 0);
  });

  it("a proof made for one channel's nonce, replayed on another channel, fails", async () => {
    // What a passive observer saw: the victim's announce on its channel, proof included.
    const observed = proofFor(keyOf('victim'), victim.nonce, { sid: 'victim', info_hash: H, peer_id: peerIdOf(1).toString('hex'), port: 8001 });
    const seen = announce('again', token, 8001, { proof: observed });
    victim.send(seen);
    assert.equal((await victim.next())['type'], 'peers', 'the proof is good on its own channel');
    const attacker = await channel(false);
    attacker.send({ ...seen, id: 'replay' });
    assert.equal((await attacker.next())['code'], 'proof_invalid');
    // A proof for the right nonce but another port does not move the entry either.
    attacker.send(announce('moved', token, 9666, { proof: observed }));
    assert.equal((await attacker.next())['code'], 'proof_invalid');
    assert.equal((await entry())?.port, 8001);
  });

  it('a renewed token for the same session naming another client key is refused on the channel', async () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    const { token: swapped } = await signAccessToken(
      rig.control.privateKey,
      { sub: 'user-victim', sid: 'victim', prg: 'live', role: 'viewer', ckey: rawPublicKey(other) },
      rig.clock.now(),
      300,
    );
    victim.send({ type: 'heartbeat', token: swapped });
    assert.deepEqual(await victim.next(), { type: 'error', code: 'conflict', message: 'renewed token names another client key' });
  });

  it('the key holder may reconnect on a new channel and move its entry', async () => {
    const again = await channel();
    again.send(announce('back', token, 8002));
    assert.equal((await again.next())['type'], 'peers');
    assert.equal((await entry())?.port, 8002);
  });
});

describe('stock HTTP clients', () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(async () => {
    await rig.close();
  });

  it('announce, re-announce from a new port and stop as before for sessions no channel holds', async () => {
    const token = await rig.token({ sid: 'stock', prg: 'live' });
    const q = (port: number, extra?: string) => announceQuery({ infoHash: HASH, peerId: peerIdOf(7), port, token, extra });
    assert.equal(failureOf(await announceHttp(rig.announceUrl, q(7001))), undefined);
    assert.equal(failureOf(await announceHttp(rig.announceUrl, q(7002))), undefined);
    assert.equal((await rig.tracker.peers(H)).find((p) => p.sid === 'stock')?.port, 7002);
    assert.equal(failureOf(await announceHttp(rig.announceUrl, q(7002, 'event=stopped'))), undefined);
    assert.ok(!rig.tracker.sessions().includes('stock'));
  });
});
