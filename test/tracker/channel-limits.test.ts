/**
 * The tracker's channel limits against clients that misbehave at the socket
 * level, over real TCP on 127.0.0.1 (timers on the rig's virtual clock):
 * a channel that never announces, one that never reads its replies while the
 * tracker keeps answering, and a dead peer that never answers pings. The raw
 * clients here speak WebSocket by hand so they can do what the `ws` library
 * never would (not pong, not read).
 */
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { CLOSE_NOT_BOUND } from '../../src/tracker/ws-frontend.js';
import { httpGet, infoHashOf, keyOf, openChannel, peerIdOf, proofFor, startRig, type ChannelClient, type Rig } from './helpers.js';

const H = infoHashOf('live').toString('hex');

/** A WebSocket client written on a bare socket: reads only while not paused, never answers pings. */
class RawChannel {
  private buf = Buffer.alloc(0);
  private upgraded = false;
  readonly frames: Array<{ opcode: number; payload: Buffer }> = [];
  private waiters: Array<() => void> = [];
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => this.onData(d));
  }

  static async open(wsUrl: string): Promise<RawChannel> {
    const url = new URL(wsUrl);
    const socket = connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const raw = new RawChannel(socket);
    socket.write(
      `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    return raw;
  }

  /** The next text frame's JSON, from index `from` on. */
  async json(from: number): Promise<{ index: number; msg: Record<string, unknown> }> {
    for (;;) {
      const i = this.frames.findIndex((f, k) => k >= from && f.opcode === 1);
      if (i >= 0) return { index: i, msg: JSON.parse(this.frames[i]!.payload.toString('utf8')) as Record<string, unknown> };
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async frame(opcode: number): Promise<void> {
    while (!this.frames.some((f) => f.opcode === opcode)) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** A masked text frame, as a client must send. */
  send(msg: unknown): boolean {
    const payload = Buffer.from(JSON.stringify(msg), 'utf8');
    const len = payload.length;
    const head = len < 126 ? Buffer.from([0x81, 0x80 | len]) : Buffer.from([0x81, 0x80 | 126, len >> 8, len & 0xff]);
    const mask = randomBytes(4);
    const body = Buffer.alloc(len);
    for (let i = 0; i < len; i++) body[i] = payload[i]! ^ mask[i % 4]!;
    return this.socket.write(Buffer.concat([head, mask, body]));
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    if (!this.upgraded) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      assert.match(this.buf.subarray(0, end).toString(), /^HTTP\/1\.1 101/);
      this.upgraded = true;
      this.buf = this.buf.subarray(end + 4);
    }
    for (;;) {
      if (this.buf.length < 2) break;
      let len = this.buf[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (this.buf.length < 4) break;
        len = this.buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) break;
        len = Number(this.buf.readBigUInt64BE(2));
        at = 10;
      }
      if (this.buf.length < at + len) break;
      this.frames.push({ opcode: this.buf[0]! & 0x0f, payload: this.buf.subarray(at, at + len) });
      this.buf = this.buf.subarray(at + len);
    }
    for (const w of this.waiters.splice(0)) w();
  }
}

/** An announce with its proof over the raw channel's nonce. */
function rawAnnounce(raw: { nonce: string }, id: string, token: string, sid: string, n: number, numwant = 30): Record<string, unknown> {
  const a = { sid, info_hash: H, peer_id: peerIdOf(n).toString('hex'), port: 8000 + n };
  return { type: 'announce', id, token, info_hash: a.info_hash, peer_id: a.peer_id, port: a.port, numwant, proof: proofFor(keyOf(sid), raw.nonce, a) };
}

async function channelsOpen(rig: Rig): Promise<number> {
  const res = await httpGet(rig.base + '/');
  return (JSON.parse(res.body.toString()) as { channels: number }).channels;
}

/** Frames are handled in order: once a bad frame's error is back, everything sent before it was handled. */
async function sync(c: ChannelClient): Promise<void> {
  c.send('{"sync":true}');
  assert.equal((await c.next())['code'], 'invalid_request');
}

/** Polls a condition (real time, bounded), running `step` between polls. */
async function until(what: string, check: () => Promise<boolean>, step: () => void = () => undefined): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    step();
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`never happened: ${what}`);
}

/** Fails with `what` instead of hanging when `p` never settles (real time, generous: no timing claim). */
function bounded<T>(what: string, p: Promise<T>, ms = 15_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const fail = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`never happened: ${what}`)), ms);
  });
  return Promise.race([p, fail]).finally(() => clearTimeout(timer));
}

describe('tracker channel limits', () => {
  let rig: Rig;
  const raws: RawChannel[] = [];
  const open: ChannelClient[] = [];
  afterEach(async () => {
    for (const r of raws.splice(0)) r.socket.destroy();
    for (const c of open.splice(0)) await c.close();
    await rig.close();
  });

  it('a channel that never announces is closed (4001) at the bind timeout; one that announced stays', async () => {
    rig = await startRig({ channelLimits: { bindTimeoutMs: 10_000 } });
    const idle = await openChannel(rig.wsUrl);
    const honest = await openChannel(rig.wsUrl);
    open.push(idle, honest);
    honest.send({ type: 'announce', id: 'a', token: await rig.token({ sid: 'h', prg: 'live' }), info_hash: H, peer_id: peerIdOf(1).toString('hex'), port: 8001 });
    assert.equal((await honest.next())['type'], 'peers');
    rig.clock.advance(9_999);
    await sync(idle);
    rig.clock.advance(1);
    const closed = await bounded('the idle channel closed', idle.closed);
    assert.equal(closed.code, CLOSE_NOT_BOUND);
    await sync(honest);
    assert.equal(await channelsOpen(rig), 1);
  });

  it('a channel that never reads its replies is closed once its outbound queue passes the bound', async () => {
    rig = await startRig({ channelLimits: { maxBufferedBytes: 64 * 1024, closeGraceMs: 1_000 } });
    // A big swarm makes each answer big (200 peers ≈ 25 kB).
    for (let i = 0; i < 200; i++) {
      await rig.store.put(H, { sid: `p${i}`, user: `u${i}`, peerId: peerIdOf(100 + i).toString('hex'), ip: '127.0.0.2', port: 10_000 + i, role: 'viewer', lastSeen: rig.clock.now() });
    }
    const token = await rig.token({ sid: 'hog', prg: 'live' });
    const raw = await RawChannel.open(rig.wsUrl);
    raws.push(raw);
    const { msg: welcome } = await raw.json(0);
    const nonce = String(welcome['nonce']);
    // From here on the attacker reads nothing, and keeps asking.
    raw.socket.pause();
    const sendAll = async (): Promise<void> => {
      for (let i = 0; i < 2_000; i++) {
        if (!raw.send(rawAnnounce({ nonce }, `a${i}`, token, 'hog', 1, 200))) {
          await new Promise((resolve) => raw.socket.once('drain', resolve));
        }
        if (raw.socket.destroyed) return;
      }
    };
    void sendAll();
    // Closed (4008) once over the bound; its socket destroyed one close grace later, answered or not.
    await until('the tracker drops the channel', async () => (await channelsOpen(rig)) === 0, () => rig.clock.advance(1_000));
    // The attacker sees it as soon as it looks.
    raw.socket.resume();
    await bounded('the attacker sees its socket closed', raw.closed);
  });

  it('a client flooding frames is read only as fast as they are handled, and every frame is still answered in order', async () => {
    // With a bound of 4 the socket is paused and resumed hundreds of times: a stall here would hang the test.
    rig = await startRig({ channelLimits: { maxPendingFrames: 4 } });
    const c = await openChannel(rig.wsUrl);
    open.push(c);
    for (let i = 0; i < 2_000; i++) c.send({ type: 'stopped', id: `s${i}` });
    const last = await bounded('the 2000th answer', c.messages.waitFor((m) => m['id'] === 's1999'));
    assert.equal(last['code'], 'proof_invalid');
    const ids = c.messages.items.slice(1).map((m) => m['id']);
    assert.deepEqual(ids, Array.from({ length: 2_000 }, (_, i) => `s${i}`));
    c.send({ type: 'announce', id: 'a', token: await rig.token({ sid: 'f', prg: 'live' }), info_hash: H, peer_id: peerIdOf(4).toString('hex'), port: 8004 });
    assert.equal((await bounded('the announce answer', c.messages.waitFor((m) => m['id'] === 'a')))['type'], 'peers');
  });

  it('a dead peer that never answers pings is dropped after two keepalive periods; a live one stays', async () => {
    rig = await startRig({ channelLimits: { keepaliveMs: 5_000 } });
    const raw = await RawChannel.open(rig.wsUrl);
    raws.push(raw);
    const { msg: welcome } = await raw.json(0);
    raw.send(rawAnnounce({ nonce: String(welcome['nonce']) }, 'd', await rig.token({ sid: 'dead', prg: 'live' }), 'dead', 2));
    assert.equal((await raw.json(1)).msg['type'], 'peers');
    const alive = await openChannel(rig.wsUrl);
    open.push(alive);
    alive.send({ type: 'announce', id: 'a', token: await rig.token({ sid: 'alive', prg: 'live' }), info_hash: H, peer_id: peerIdOf(3).toString('hex'), port: 8003 });
    assert.equal((await alive.next())['type'], 'peers');
    const pinged = new Promise<void>((resolve) => alive.ws.once('ping', () => resolve()));
    rig.clock.advance(5_000);
    await raw.frame(0x9);
    await pinged;
    // The live client's pong went out before this frame: once its answer is back, the tracker has the pong.
    await sync(alive);
    rig.clock.advance(5_000);
    await bounded('the dead peer dropped', raw.closed);
    await sync(alive);
    assert.equal(await channelsOpen(rig), 1);
  });
});
