import { describe, it, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { signAccessToken } from '../../src/protocol/token.js';
import { rawPublicKey } from '../../src/core/piece.js';
import { announceHttp, announceQuery, failureOf, infoHashOf, keyOf, openChannel, peerIdOf, startRig, type ChannelClient, type Rig } from './helpers.js';

const H = infoHashOf('live').toString('hex');

/** Frames are handled in order: once a bad frame's error is back, everything sent before it was handled. */
async function sync(c: ChannelClient): Promise<void> {
  c.send('{"sync":true}');
  assert.equal((await c.next())['code'], 'invalid_request');
}

function announce(id: string, token: string, n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'announce', id, token, info_hash: H, peer_id: peerIdOf(n).toString('hex'), port: 8000 + n, ...extra };
}

describe('WebSocket channel', () => {
  let rig: Rig;
  const open: ChannelClient[] = [];
  const channel = async (): Promise<ChannelClient> => {
    const c = await openChannel(rig.wsUrl);
    open.push(c);
    return c;
  };
  /** A viewer announced on its own channel; returns the channel and its first reply. */
  const join = async (sid: string, n: number, extra: Record<string, unknown> = {}) => {
    const c = await channel();
    c.send(announce(`a-${sid}`, await rig.token({ sid, prg: 'live' }), n, extra));
    return { c, reply: await c.next() };
  };

  beforeEach(async () => {
    rig = await startRig({ heartbeatTimeoutMs: 3_000 });
    const src = await channel();
    src.send(announce('s1', await rig.token({ sid: 'src', prg: 'live', role: 'source' }), 0));
    assert.equal((await src.next())['type'], 'peers');
  });
  afterEach(async () => {
    for (const c of open.splice(0)) await c.close();
    await rig.close();
  });

  it('announce answers peers with the same id, never the requester, numwant honoured', async () => {
    for (let i = 1; i <= 4; i++) await join(`v${i}`, i);
    const { reply } = await join('v5', 5, { numwant: 3 });
    assert.equal(reply['type'], 'peers');
    assert.equal(reply['id'], 'a-v5');
    assert.equal(reply['interval_s'], 30);
    assert.equal(reply['heartbeat_s'], 0.75);
    assert.equal(reply['complete'], 1);
    assert.equal(reply['incomplete'], 4);
    const peers = reply['peers'] as Array<Record<string, unknown>>;
    assert.equal(peers.length, 3);
    assert.ok(!peers.some((p) => p['sid'] === 'v5'));
    for (const p of peers) assert.equal(p['ip'], '127.0.0.1');
    const { reply: all } = await join('v6', 6);
    const sids = (all['peers'] as Array<Record<string, unknown>>).map((p) => p['sid']).sort();
    assert.deepEqual(sids, ['src', 'v1', 'v2', 'v3', 'v4', 'v5']);
    const srcPeer = (all['peers'] as Array<Record<string, unknown>>).find((p) => p['sid'] === 'src');
    // With the session's client key: a dialer sends its token only to the end of the channel that proves it.
    assert.deepEqual(srcPeer, { sid: 'src', peer_id: peerIdOf(0).toString('hex'), ip: '127.0.0.1', port: 8000, role: 'source', key: rawPublicKey(keyOf('src')) });
  });

  it('refusals carry the ClientError code', async () => {
    const c = await channel();
    const { privateKey } = generateKeyPairSync('ed25519');
    const forged = (await signAccessToken(privateKey, { sub: 'u', sid: 'f', prg: 'live', role: 'viewer', ckey: 'k' }, rig.clock.now(), 300)).token;
    const shortLived = await rig.token({ sid: 'e', prg: 'live', ttlS: 1 });
    const cases: Array<[string, string, string]> = [
      ['', 'token_missing', 'access token is required'],
      [forged, 'token_invalid', 'access token is not valid'],
      [await rig.token({ sid: 'w', prg: 'other' }), 'token_wrong_program', 'access token is for another program'],
    ];
    for (const [token, code, message] of cases) {
      c.send(announce(`r-${code}`, token, 9));
      assert.deepEqual(await c.next(), { type: 'error', id: `r-${code}`, code, message });
    }
    rig.clock.advance(2_000);
    c.send(announce('r-exp', shortLived, 9));
    assert.deepEqual(await c.next(), { type: 'error', id: 'r-exp', code: 'token_expired', message: 'access token expired' });
    rig.tracker.revoke('rv');
    c.send(announce('r-rev', await rig.token({ sid: 'rv', prg: 'live' }), 9));
    assert.deepEqual(await c.next(), { type: 'error', id: 'r-rev', code: 'token_revoked', message: 'session revoked' });
    // Still open and serving.
    c.send(announce('ok', await rig.token({ sid: 'fine', prg: 'live' }), 9));
    assert.equal((await c.next())['type'], 'peers');
  });

  it('a channel stays bound to the session of its first accepted announce', async () => {
    const { c } = await join('mine', 1);
    c.send(announce('again', await rig.token({ sid: 'mine', prg: 'live' }), 1));
    assert.equal((await c.next())['type'], 'peers');
    c.send(announce('other', await rig.token({ sid: 'theirs', prg: 'live' }), 2));
    const err = await c.next();
    assert.equal(err['type'], 'error');
    assert.equal(err['id'], 'other');
    assert.equal(err['code'], 'conflict');
    assert.ok(!(await rig.tracker.peers(H)).some((p) => p.sid === 'theirs'));
  });

  it('malformed frames get invalid_request and the channel stays open', async () => {
    const c = await channel();
    const bad: unknown[] = [
      'not json',
      '{"type":"nope"}',
      { type: 'announce', id: 'x' },
      announce('bad-hash', 't', 1, { info_hash: 'abc' }),
      announce('bad-port', 't', 1, { port: 0 }),
      '[]',
    ];
    for (const frame of bad) {
      c.send(frame);
      const err = await c.next();
      assert.equal(err['type'], 'error');
      assert.equal(err['code'], 'invalid_request');
      assert.match(String(err['message']), /^tracker channel: /);
    }
    c.ws.send(Buffer.from([0xff, 0x00, 0x01]), { binary: true });
    assert.equal((await c.next())['code'], 'invalid_request');
    c.send({ type: 'heartbeat' });
    assert.deepEqual(await c.next(), { type: 'error', code: 'invalid_request', message: 'heartbeat before any accepted announce on this channel' });
    c.send(announce('good', await rig.token({ sid: 'g', prg: 'live' }), 1));
    assert.equal((await c.next())['type'], 'peers');
  });

  it('too many malformed frames close the channel with 1008', async () => {
    const c = await channel();
    for (let i = 0; i < 20; i++) c.send('garbage');
    const closed = await c.closed;
    assert.equal(closed.code, 1008);
    assert.equal(c.messages.items.length, 21, 'the welcome, then one error per frame');
    // The server still serves others.
    const { reply } = await join('after', 3);
    assert.equal(reply['type'], 'peers');
  });

  it('stopped removes the peer at once, acks, and reports leave with the ref', async () => {
    const { c } = await join('quit', 1);
    assert.ok((await rig.tracker.peers(H)).some((p) => p.sid === 'quit'));
    c.send({ type: 'stopped', id: 'st-1', ref: 'dc-7' });
    assert.deepEqual(await c.next(), { type: 'ack', id: 'st-1' });
    assert.ok(!(await rig.tracker.peers(H)).some((p) => p.sid === 'quit'));
    const leave = await rig.control.received.waitFor((m) => m.type === 'leave' && m.sid === 'quit');
    assert.equal(leave.type, 'leave');
    if (leave.type === 'leave') {
      assert.equal(leave.reason, 'stopped');
      assert.equal(leave.ref, 'dc-7');
    }
    // A repeated stopped is acked again and reports nothing new.
    c.send({ type: 'stopped', id: 'st-2' });
    assert.deepEqual(await c.next(), { type: 'ack', id: 'st-2' });
    assert.equal(rig.control.received.items.filter((m) => m.type === 'leave' && m.sid === 'quit').length, 1);
  });

  it('heartbeats keep a peer; silence past the timeout removes it and reports leave timeout', async () => {
    const { c: alive } = await join('alive', 1);
    const { c: silent } = await join('silent', 2);
    // The silent one closes its socket without `stopped`: it stays until the timeout.
    await silent.close();
    assert.ok((await rig.tracker.peers(H)).some((p) => p.sid === 'silent'));
    for (let t = 0; t < 4; t++) {
      alive.send({ type: 'heartbeat' });
      await sync(alive);
      rig.clock.advance(1_000);
    }
    const leave = await rig.control.received.waitFor((m) => m.type === 'leave' && m.sid === 'silent');
    assert.equal(leave.type === 'leave' && leave.reason, 'timeout');
    const sids = (await rig.tracker.peers(H)).map((p) => p.sid);
    assert.ok(sids.includes('alive'), 'heartbeats kept it');
    assert.ok(!sids.includes('silent'));
    assert.ok(!rig.control.received.items.some((m) => m.type === 'leave' && m.sid === 'alive'));
  });

  it('a heartbeat may carry a renewed token; one for another session is refused', async () => {
    const { c } = await join('renew', 1, {});
    c.send({ type: 'heartbeat', token: await rig.token({ sid: 'someone-else', prg: 'live' }) });
    assert.deepEqual(await c.next(), { type: 'error', code: 'conflict', message: 'renewed token is for another session' });
    c.send({ type: 'heartbeat', token: 'forged' });
    assert.equal((await c.next())['code'], 'token_invalid');
  });

  it('a token that runs out unrenewed ends the session (leave expired); a renewal keeps it', async () => {
    const c1 = await channel();
    c1.send(announce('x1', await rig.token({ sid: 'lapse', prg: 'live', ttlS: 2 }), 1));
    await c1.next();
    const c2 = await channel();
    c2.send(announce('x2', await rig.token({ sid: 'renewer', prg: 'live', ttlS: 2 }), 2));
    await c2.next();
    rig.clock.advance(1_000);
    c2.send({ type: 'heartbeat', token: await rig.token({ sid: 'renewer', prg: 'live', ttlS: 60 }) });
    c1.send({ type: 'heartbeat' });
    await sync(c1);
    await sync(c2);
    rig.clock.advance(1_500);
    const leave = await rig.control.received.waitFor((m) => m.type === 'leave' && m.sid === 'lapse');
    assert.equal(leave.type === 'leave' && leave.reason, 'expired');
    assert.ok((await rig.tracker.peers(H)).some((p) => p.sid === 'renewer'));
  });

  it('unknown upgrade paths are refused', async () => {
    await assert.rejects(openChannel(rig.wsUrl.replace(/\/ws$/, '/elsewhere')), /404/);
  });
});

describe('WebSocket and HTTP share one swarm', () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig();
  });
  after(() => rig.close());

  it('a stock HTTP client and a channel client see each other', async () => {
    const c = await openChannel(rig.wsUrl);
    try {
      c.send(announce('w', await rig.token({ sid: 'ws-peer', prg: 'live', role: 'source' }), 1));
      await c.next();
      const res = await announceHttp(
        rig.announceUrl,
        announceQuery({ infoHash: infoHashOf('live'), peerId: peerIdOf(2), port: 9002, token: await rig.token({ sid: 'http-peer', prg: 'live' }) }),
      );
      assert.equal(failureOf(res), undefined);
      c.send(announce('w2', await rig.token({ sid: 'ws-peer', prg: 'live', role: 'source' }), 1));
      const reply = await c.next();
      assert.deepEqual((reply['peers'] as Array<Record<string, unknown>>).map((p) => p['port']), [9002]);
    } finally {
      await c.close();
    }
  });
});
