import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { ProtocolError } from '../../src/core/errors.js';
import {
  decodeLiveHandshake,
  decodeLiveMessage,
  encodeLiveHandshake,
  encodeLiveMessage,
  GC_LIVE_LOCAL_ID,
  LIVE_VERSION,
  MAX_WINDOW_BYTES,
  signPeerAuth,
  verifyPeerAuth,
  windowHas,
  type LiveMessage,
} from '../../src/protocol/live-extension.js';
import { bdecode, bdecodeDict, bencode, type BDict } from '../../src/protocol/wire-bencode.js';

/** What the remote would see: the handshake dict through the codec, as the wire hands it over. */
function viaWire(dict: Parameters<typeof bencode>[0]): BDict {
  return bdecodeDict(bencode(dict), 'extended handshake');
}

describe('strict bencode', () => {
  it('round-trips nested values with sorted keys', () => {
    const bytes = bencode({ z: 1, a: ['x', -5, { k: Buffer.from([0, 255]) }] });
    assert.equal(bytes.toString('latin1'), 'd1:al1:xi-5ed1:k2:\u0000\u00ffee1:zi1ee');
    const back = bdecode(bytes) as BDict;
    assert.equal(back['z'], 1);
  });

  const bad: [string, string, RegExp][] = [
    ['trailing bytes', 'i1eX', /1 trailing bytes/],
    ['a leading zero', 'i01e', /malformed integer/],
    ['negative zero', 'i-0e', /malformed integer/],
    ['an unsafe integer', 'i9007199254740993e', /safe range/],
    ['a truncated string', '5:abc', /runs past the end/],
    ['an unterminated list', 'li1e', /unterminated list/],
    ['an unterminated dictionary', 'd1:ai1e', /unterminated dictionary/],
    ['a non-string key', 'di1ei2ee', /key is not a byte string/],
    ['a duplicate key', 'd1:ai1e1:ai2ee', /duplicate key "a"/],
    ['deep nesting', 'l'.repeat(100) + 'e'.repeat(100), /nested too deeply/],
    ['empty input', '', /empty input/],
  ];
  for (const [what, text, message] of bad) {
    it(`rejects ${what}`, () => {
      assert.throws(() => bdecode(Buffer.from(text, 'latin1')), (err: unknown) => err instanceof ProtocolError && message.test(err.message));
    });
  }

  it('gives dictionaries no prototype, so "__proto__" is only a key', () => {
    const d = bdecode(Buffer.from('d9:__proto__i1ee')) as BDict;
    assert.equal(Object.getPrototypeOf(d), null);
    assert.equal(d['__proto__'], 1);
  });
});

describe('gc_live extended handshake', () => {
  it('round-trips our fields', () => {
    const nonce = randomBytes(32);
    const hs = decodeLiveHandshake(viaWire(encodeLiveHandshake({ token: 'a.b.c', nonce, role: 'viewer' })));
    assert.deepEqual(hs, { gcLiveId: GC_LIVE_LOCAL_ID, version: LIVE_VERSION, token: 'a.b.c', nonce, role: 'viewer' });
  });

  it("reads a stock client's handshake as having none of our fields", () => {
    const hs = decodeLiveHandshake(viaWire({ m: { ut_metadata: 2 }, v: 'libtorrent 2.0', reqq: 500 }));
    assert.deepEqual(hs, { gcLiveId: null, version: 'libtorrent 2.0', token: null, nonce: null, role: null });
  });

  it('treats m.gc_live = 0 as switched off (BEP 10)', () => {
    assert.equal(decodeLiveHandshake(viaWire({ m: { gc_live: 0 } })).gcLiveId, null);
  });

  const bad: [string, Parameters<typeof bencode>[0], RegExp][] = [
    ['m that is not a dict', { m: 'x' }, /"m" must be a dictionary/],
    ['an out-of-range gc_live id', { m: { gc_live: 256 } }, /m.gc_live must be an integer 0..255/],
    ['a numeric token', { gc_token: 5 }, /gc_token must be a byte string/],
    ['a token over 4 KiB', { gc_token: 'x'.repeat(4097) }, /gc_token over 4096 bytes/],
    ['a short nonce', { gc_nonce: randomBytes(31) }, /gc_nonce must be 32 bytes, got 31/],
    ['a long nonce', { gc_nonce: randomBytes(33) }, /gc_nonce over 32 bytes/],
    ['an unknown role', { gc_role: 'admin' }, /gc_role must be "viewer" or "source"/],
  ];
  for (const [what, dict, message] of bad) {
    it(`rejects ${what}`, () => {
      assert.throws(() => decodeLiveHandshake(viaWire(dict)), (err: unknown) => err instanceof ProtocolError && message.test(err.message));
    });
  }
});

describe('gc_live messages', () => {
  const messages: LiveMessage[] = [
    { t: 'auth', sig: randomBytes(64) },
    { t: 'window', base: 2 ** 40, bits: Buffer.from([0xff, 0x01]) },
    { t: 'window', base: 0, bits: Buffer.alloc(0) },
    { t: 'leaving', reason: 'disconnected by the operator' },
    { t: 'revoked', sid: 'sess-123' },
  ];
  for (const msg of messages) {
    it(`round-trips ${msg.t}`, () => {
      assert.deepEqual(decodeLiveMessage(encodeLiveMessage(msg)), msg);
    });
  }

  it('skips a message type it does not know', () => {
    assert.equal(decodeLiveMessage(bencode({ t: 'future', x: 1 })), null);
  });

  it('truncates a long leaving reason to 256 bytes', () => {
    const msg = decodeLiveMessage(encodeLiveMessage({ t: 'leaving', reason: 'é'.repeat(300) }));
    assert.ok(msg?.t === 'leaving' && Buffer.byteLength(msg.reason) <= 256 && msg.reason.startsWith('éé'));
  });

  const bad: [string, Buffer, RegExp][] = [
    ['a non-dict', bencode(['auth']), /not a bencoded dictionary/],
    ['a missing t', bencode({ sig: randomBytes(64) }), /missing t/],
    ['a short signature', bencode({ t: 'auth', sig: randomBytes(63) }), /auth: sig must be 64 bytes, got 63/],
    ['a missing signature', bencode({ t: 'auth' }), /auth: missing sig/],
    ['a negative window base', bencode({ t: 'window', base: -1, bits: Buffer.alloc(1) }), /window: base must be a non-negative integer/],
    ['a window base that is text', bencode({ t: 'window', base: '1', bits: Buffer.alloc(1) }), /window: base must be/],
    ['window bits over 64 KiB', bencode({ t: 'window', base: 0, bits: Buffer.alloc(MAX_WINDOW_BYTES + 1) }), /window: bits over 65536 bytes/],
    ['an empty revoked sid', bencode({ t: 'revoked', sid: '' }), /revoked: sid is empty/],
    ['a leaving without reason', bencode({ t: 'leaving' }), /leaving: missing reason/],
    ['garbage', Buffer.from('\x00\x01garbage'), /bencode: unexpected byte 0x0/],
  ];
  for (const [what, bytes, message] of bad) {
    it(`rejects ${what}`, () => {
      assert.throws(() => decodeLiveMessage(bytes), (err: unknown) => err instanceof ProtocolError && message.test(err.message));
    });
  }

  it('reads window bits MSB first from base', () => {
    const w = { base: 100, bits: Buffer.from([0b1000_0001, 0b0100_0000]) };
    assert.deepEqual([99, 100, 101, 106, 107, 108, 109, 116].map((s) => windowHas(w, s)), [false, true, false, false, true, false, true, false]);
  });
});

describe('peer auth proof', () => {
  it('verifies with the signer key over the same nonce, info hash and peer id only', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const other = generateKeyPairSync('ed25519');
    const nonce = randomBytes(32);
    const infoHash = randomBytes(20);
    const peerId = randomBytes(20);
    const sig = signPeerAuth(privateKey, nonce, infoHash, peerId);
    assert.equal(verifyPeerAuth(publicKey, sig, nonce, infoHash, peerId), true);
    assert.equal(verifyPeerAuth(other.publicKey, sig, nonce, infoHash, peerId), false);
    assert.equal(verifyPeerAuth(publicKey, sig, randomBytes(32), infoHash, peerId), false);
    assert.equal(verifyPeerAuth(publicKey, sig, nonce, randomBytes(20), peerId), false);
    assert.equal(verifyPeerAuth(publicKey, sig, nonce, infoHash, randomBytes(20)), false);
    assert.equal(verifyPeerAuth(publicKey, Buffer.alloc(3), nonce, infoHash, peerId), false);
  });
});
