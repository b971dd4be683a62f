import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ProtocolError } from '../../src/core/errors.js';
import { MAX_MESSAGE_BYTES, MAX_REQUEST_BYTES, Wire, type WireEvents } from '../../src/protocol/wire.js';

const infoHash = randomBytes(20);
const peerA = Buffer.from('-GC0001-aaaaaaaaaaaa');
const peerB = Buffer.from('-GC0001-bbbbbbbbbbbb');

type Seen = { event: keyof WireEvents; args: unknown[] };

/** Records every receiving event of `w` in order. */
function record(w: Wire): Seen[] {
  const seen: Seen[] = [];
  const events: (keyof WireEvents)[] = [
    'handshake', 'keep-alive', 'choke', 'unchoke', 'interested', 'not-interested', 'have', 'bitfield',
    'request', 'piece', 'cancel', 'extended-handshake', 'extended', 'unknown', 'error',
  ];
  for (const event of events) {
    (w as unknown as LooseEmitter).on(event, (...args: unknown[]) => seen.push({ event, args }));
  }
  return seen;
}
interface LooseEmitter {
  on(event: string, fn: (...args: unknown[]) => void): void;
}

/** Every byte `w` sends, concatenated. */
function output(w: Wire): () => Buffer {
  const parts: Buffer[] = [];
  w.on('data', (b) => parts.push(b));
  return () => Buffer.concat(parts);
}

/** Sends one of every message from a fresh wire and returns the bytes. */
function everyMessage(): Buffer {
  const w = new Wire();
  const out = output(w);
  w.handshake(infoHash, peerA);
  w.keepAlive();
  w.choke();
  w.unchoke();
  w.interested();
  w.notInterested();
  w.have(0xfffffffe);
  w.bitfield(Buffer.from([0b1010_0000]));
  w.request(7, 16384, 16384);
  w.piece(7, 16384, Buffer.from('block bytes'));
  w.cancel(7, 16384, 16384);
  w.extendedHandshake({ m: { gc_live: 1 }, v: 'gatecast/0.1' });
  w.extended(3, Buffer.from('payload'));
  return out();
}

function assertEveryMessage(seen: Seen[]): void {
  assert.deepEqual(
    seen.map((s) => s.event),
    ['handshake', 'keep-alive', 'choke', 'unchoke', 'interested', 'not-interested', 'have', 'bitfield', 'request', 'piece', 'cancel', 'extended-handshake', 'extended'],
  );
  const hs = seen[0]?.args[0] as { infoHash: Buffer; peerId: Buffer; extended: boolean; reserved: Buffer };
  assert.ok(hs.infoHash.equals(infoHash));
  assert.ok(hs.peerId.equals(peerA));
  assert.equal(hs.extended, true);
  assert.equal(hs.reserved[5], 0x10);
  assert.deepEqual(seen[6]?.args, [0xfffffffe]);
  assert.deepEqual(seen[7]?.args, [Buffer.from([0b1010_0000])]);
  assert.deepEqual(seen[8]?.args, [{ index: 7, begin: 16384, length: 16384 }]);
  const piece = seen[9]?.args[0] as { index: number; begin: number; block: Buffer };
  assert.equal(piece.index, 7);
  assert.equal(piece.begin, 16384);
  assert.equal(piece.block.toString(), 'block bytes');
  assert.deepEqual(seen[10]?.args, [{ index: 7, begin: 16384, length: 16384 }]);
  const ext = seen[11]?.args[0] as Record<string, unknown>;
  assert.deepEqual(ext['m'], Object.assign(Object.create(null) as object, { gc_live: 1 }));
  assert.ok(Buffer.from('gatecast/0.1').equals(ext['v'] as Buffer));
  assert.deepEqual(seen[12]?.args, [3, Buffer.from('payload')]);
}

describe('Wire', () => {
  it('round-trips every message between two wires piped in memory', () => {
    const a = new Wire();
    const b = new Wire();
    a.on('data', (d) => b.receive(d));
    b.on('data', (d) => a.receive(d));
    const seenByB = record(b);
    const seenByA = record(a);
    a.handshake(infoHash, peerA);
    b.handshake(infoHash, peerB, { extended: false });
    a.have(42);
    b.have(43);
    assert.deepEqual(seenByB.map((s) => s.event), ['handshake', 'have']);
    assert.deepEqual(seenByB[1]?.args, [42]);
    const hsB = seenByA[0]?.args[0] as { peerId: Buffer; extended: boolean };
    assert.ok(hsB.peerId.equals(peerB));
    assert.equal(hsB.extended, false);
    assert.deepEqual(seenByA[1]?.args, [43]);
  });

  it('parses every message type, whole or fed one byte at a time', () => {
    const bytes = everyMessage();
    const whole = new Wire();
    const seenWhole = record(whole);
    whole.receive(bytes);
    assertEveryMessage(seenWhole);

    const dribble = new Wire();
    const seenDribble = record(dribble);
    for (let i = 0; i < bytes.length; i++) dribble.receive(bytes.subarray(i, i + 1));
    assertEveryMessage(seenDribble);
  });

  it('surfaces unknown message ids and keeps going (BEP 3)', () => {
    const w = new Wire();
    const seen = record(w);
    const hs = everyMessage().subarray(0, 68);
    w.receive(Buffer.concat([hs, Buffer.from([0, 0, 0, 3, 9, 0x1a, 0xe1]), Buffer.from([0, 0, 0, 1, 1])]));
    assert.deepEqual(seen.map((s) => s.event), ['handshake', 'unknown', 'unchoke']);
    assert.deepEqual(seen[1]?.args, [9, Buffer.from([0x1a, 0xe1])]);
  });

  it('pause() holds messages until resume()', () => {
    const w = new Wire();
    const seen = record(w);
    w.on('handshake', () => w.pause());
    const bytes = everyMessage();
    w.receive(bytes);
    assert.deepEqual(seen.map((s) => s.event), ['handshake']);
    w.resume();
    assertEveryMessage(seen);
  });

  describe('rejects malformed input with a specific error and stops parsing', () => {
    const handshake = (): Buffer => everyMessage().subarray(0, 68);
    const cases: [string, () => Buffer, RegExp][] = [
      ['a bad protocol name length', () => Buffer.from([18, ...Buffer.from('BitTorrent protoco')]), /bad handshake: protocol name length 18/],
      ['a wrong protocol name', () => Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocoL'), Buffer.alloc(48)]), /bad handshake: protocol name is not/],
      ['garbage', () => Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), /bad handshake/],
      ['a message over the length limit', () => Buffer.concat([handshake(), u32(MAX_MESSAGE_BYTES + 1)]), /message too long: 1048590 bytes/],
      ['a short have', () => Buffer.concat([handshake(), u32(4), Buffer.from([4, 0, 0, 1])]), /have: payload must be 4 bytes, got 3/],
      ['a choke with a payload', () => Buffer.concat([handshake(), u32(2), Buffer.from([0, 0])]), /choke: payload must be 0 bytes, got 1/],
      ['a request of the wrong size', () => Buffer.concat([handshake(), u32(9), Buffer.from([6]), Buffer.alloc(8)]), /request: payload must be 12 bytes, got 8/],
      ['a request over 128 KiB', () => Buffer.concat([handshake(), u32(13), Buffer.from([6]), u32(1), u32(0), u32(MAX_REQUEST_BYTES + 1)]), /request: block length 131073 out of range/],
      ['a zero-length cancel', () => Buffer.concat([handshake(), u32(13), Buffer.from([8]), u32(1), u32(0), u32(0)]), /cancel: block length 0 out of range/],
      ['a piece shorter than its header', () => Buffer.concat([handshake(), u32(5), Buffer.from([7, 0, 0, 0, 1])]), /piece: payload must be at least 8 bytes, got 4/],
      ['an extended message with no id', () => Buffer.concat([handshake(), u32(1), Buffer.from([20])]), /extended: message without an extension id/],
      ['an extended handshake that is not bencode', () => Buffer.concat([handshake(), u32(5), Buffer.from([20, 0]), Buffer.from('xyz')]), /bencode: unexpected byte/],
      ['an extended handshake that is a list', () => Buffer.concat([handshake(), u32(4), Buffer.from([20, 0]), Buffer.from('le')]), /extended handshake: not a bencoded dictionary/],
    ];
    for (const [what, bytes, message] of cases) {
      it(what, () => {
        const w = new Wire();
        const seen = record(w);
        const input = Buffer.concat([bytes(), u32(0), u32(1), Buffer.from([1])]);
        for (let i = 0; i < input.length; i += 3) w.receive(input.subarray(i, i + 3));
        const errors = seen.filter((s) => s.event === 'error');
        assert.equal(errors.length, 1);
        const err = errors[0]?.args[0];
        assert.ok(err instanceof ProtocolError);
        assert.match(err.message, message);
        // Nothing is parsed after the error, not even the keep-alive and unchoke that follow.
        assert.equal(seen.at(-1)?.event, 'error');
      });
    }
  });

  it('keeps sending after a parse error, and sends nothing once destroyed', () => {
    const w = new Wire();
    const out = output(w);
    w.on('error', () => undefined);
    w.receive(Buffer.from('garbage!'));
    w.keepAlive();
    assert.equal(out().length, 4);
    w.destroy();
    w.keepAlive();
    assert.equal(out().length, 4);
    assert.equal(w.destroyed, true);
  });

  it('refuses to send out-of-range values', () => {
    const w = new Wire();
    assert.throws(() => w.have(2 ** 32), /index 4294967296 is not a u32/);
    assert.throws(() => w.request(1, 0, MAX_REQUEST_BYTES + 1), /block length/);
    assert.throws(() => w.extended(0, Buffer.alloc(0)), /extension id 0/);
    assert.throws(() => w.handshake(Buffer.alloc(19), peerA), /info hash must be 20 bytes/);
  });
});

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

describe('Wire extensions (use by name)', () => {
  /** Two wires piped to each other, each with a `demo` extension recording what reaches it. */
  function piped(remoteName = 'demo'): { a: Wire; b: Wire; gotB: string[]; gotA: string[] } {
    const a = new Wire();
    const b = new Wire();
    a.on('data', (bytes) => b.receive(bytes));
    b.on('data', (bytes) => a.receive(bytes));
    const gotA: string[] = [];
    const gotB: string[] = [];
    // b offers other extensions first, so its id for `demo` is not a's.
    b.use({ name: 'other', onMessage: () => gotB.push('other') });
    a.use({ name: 'demo', onHandshake: () => gotA.push('handshake'), onExtendedHandshake: (d) => gotA.push(`ext-handshake ${Object.keys(d).join(',')}`), onMessage: (p) => gotA.push(`demo ${p.toString()}`) });
    b.use({ name: remoteName, onMessage: (p) => gotB.push(`${remoteName} ${p.toString()}`) });
    a.handshake(infoHash, peerA);
    b.handshake(infoHash, peerB);
    return { a, b, gotA, gotB };
  }

  it('names each extension in the extended handshake, routes its messages, and sends by name with the id the remote chose', () => {
    const { a, b, gotA, gotB } = piped();
    const seenB = record(b);
    assert.equal(a.extended('demo', Buffer.from('early')), false, 'nothing goes out before the remote named its id');
    a.extendedHandshake({ v: 'x' });
    b.extendedHandshake({ v: 'y' });
    const hs = seenB.find((s) => s.event === 'extended-handshake')?.args[0] as { m: Record<string, number> };
    assert.deepEqual({ ...hs.m }, { demo: 1 });
    assert.equal(b.remoteSupports('demo'), true);
    assert.equal(a.remoteSupports('demo'), true);
    assert.equal(a.extended('demo', Buffer.from('hello')), true);
    assert.equal(b.extended('demo', Buffer.from('back')), true);
    assert.deepEqual(gotB, ['demo hello']);
    assert.deepEqual(gotA, ['handshake', 'ext-handshake m,v', 'demo back']);
    assert.equal(seenB.some((s) => s.event === 'extended' && s.args[0] !== 0), false, 'a used extension is not surfaced as unknown');
  });

  it("an extension the remote does not speak is not sent; a message for one we don't use is surfaced and skipped", () => {
    const { a, b, gotB } = piped('something-else');
    const seenB = record(b);
    a.extendedHandshake({});
    b.extendedHandshake({});
    assert.equal(a.remoteSupports('demo'), false);
    assert.equal(a.extended('demo', Buffer.from('x')), false);
    a.extended(9, Buffer.from('raw'));
    assert.deepEqual(gotB, []);
    assert.deepEqual(seenB.filter((s) => s.event === 'extended').map((s) => s.args[0]), [9]);
  });
});
