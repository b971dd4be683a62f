import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { ProtocolError } from '../../src/core/errors.js';
import {
  decodeLiveHandshake,
  decodeLiveMessage,
  encodeLiveHandshake,
  encodeLiveMessage,
  gcLive,
  GC_LIVE,
  GC_LIVE_LOCAL_ID,
  LIVE_VERSION,
  MAX_WINDOW_BYTES,
  peerAuthTranscript,
  signPeerAuth,
  verifyPeerAuth,
  windowHas,
  type LiveMessage,
  type PeerAuthContext,
} from '../../src/protocol/live-extension.js';
import { bdecode, bdecodeDict, bencode, type BDict } from '../../src/protocol/wire-bencode.js';
import { Wire } from '../../src/protocol/wire.js';

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
    const auth = randomBytes(64);
    const hs = decodeLiveHandshake(viaWire(encodeLiveHandshake({ token: 'a.b.c', role: 'viewer', auth })));
    assert.deepEqual(hs, { gcLiveId: GC_LIVE_LOCAL_ID, version: LIVE_VERSION, token: 'a.b.c', role: 'viewer', auth });
  });

  it("reads a stock client's handshake as having none of our fields", () => {
    const hs = decodeLiveHandshake(viaWire({ m: { ut_metadata: 2 }, v: 'libtorrent 2.0', reqq: 500 }));
    assert.deepEqual(hs, { gcLiveId: null, version: 'libtorrent 2.0', token: null, role: null, auth: null });
  });

  it('treats m.gc_live = 0 as switched off (BEP 10)', () => {
    assert.equal(decodeLiveHandshake(viaWire({ m: { gc_live: 0 } })).gcLiveId, null);
  });

  const bad: [string, Parameters<typeof bencode>[0], RegExp][] = [
    ['m that is not a dict', { m: 'x' }, /"m" must be a dictionary/],
    ['an out-of-range gc_live id', { m: { gc_live: 256 } }, /m.gc_live must be an integer 0..255/],
    ['a numeric token', { gc_token: 5 }, /gc_token must be a byte string/],
    ['a token over 4 KiB', { gc_token: 'x'.repeat(4097) }, /gc_token over 4096 bytes/],
    ['a short proof', { gc_auth: randomBytes(63) }, /gc_auth must be 64 bytes, got 63/],
    ['a long proof', { gc_auth: randomBytes(65) }, /gc_auth over 64 bytes/],
    ['a proof that is a number', { gc_auth: 7 }, /gc_auth must be a byte string/],
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
    { t: 'token', token: 'a.renewed.token' },
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

  it('skips a message type it does not know (the v1 `auth` message included)', () => {
    assert.equal(decodeLiveMessage(bencode({ t: 'future', x: 1 })), null);
    assert.equal(decodeLiveMessage(bencode({ t: 'auth', sig: randomBytes(64) })), null);
  });

  it('truncates a long leaving reason to 256 bytes', () => {
    const msg = decodeLiveMessage(encodeLiveMessage({ t: 'leaving', reason: 'é'.repeat(300) }));
    assert.ok(msg?.t === 'leaving' && Buffer.byteLength(msg.reason) <= 256 && msg.reason.startsWith('éé'));
  });

  const bad: [string, Buffer, RegExp][] = [
    ['a non-dict', bencode(['auth']), /not a bencoded dictionary/],
    ['a missing t', bencode({ sig: randomBytes(64) }), /missing t/],
    ['an empty renewed token', bencode({ t: 'token', token: '' }), /token: token is empty/],
    ['a renewed token over 4 KiB', bencode({ t: 'token', token: 'x'.repeat(4097) }), /token: token over 4096 bytes/],
    ['a missing renewed token', bencode({ t: 'token' }), /token: missing token/],
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
  const base = (): PeerAuthContext => ({
    handshakeHash: randomBytes(64),
    infoHash: randomBytes(20),
    signer: 'initiator',
    initiatorPeerId: randomBytes(20),
    responderPeerId: randomBytes(20),
    initiatorSid: 'sess-dialer',
    responderSid: null,
  });

  it('verifies only with the signer key over exactly the same transcript', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const other = generateKeyPairSync('ed25519');
    const ctx = base();
    const sig = signPeerAuth(privateKey, ctx);
    assert.equal(verifyPeerAuth(publicKey, sig, ctx), true);
    assert.equal(verifyPeerAuth(other.publicKey, sig, ctx), false);
    assert.equal(verifyPeerAuth(publicKey, Buffer.alloc(3), ctx), false);
    // Each field changed alone breaks the proof: another channel, swarm, peer, session or side.
    const changes: Partial<PeerAuthContext>[] = [
      { handshakeHash: randomBytes(64) },
      { infoHash: randomBytes(20) },
      { signer: 'responder' },
      { initiatorPeerId: randomBytes(20) },
      { responderPeerId: randomBytes(20) },
      { initiatorSid: 'sess-other' },
      { responderSid: 'sess-acceptor' },
    ];
    for (const change of changes) assert.equal(verifyPeerAuth(publicKey, sig, { ...ctx, ...change }), false, JSON.stringify(Object.keys(change)));
  });

  it('length-prefixes the session ids, so moving bytes between them changes the transcript', () => {
    const ctx = { ...base(), signer: 'responder' as const, initiatorSid: 'ab', responderSid: 'c' };
    assert.notDeepEqual(peerAuthTranscript(ctx), peerAuthTranscript({ ...ctx, initiatorSid: 'a', responderSid: 'bc' }));
  });
});

describe('gc_live plugged into the wire by name', () => {
  const sent = (w: Wire): (() => Buffer) => {
    const parts: Buffer[] = [];
    w.on('data', (b) => parts.push(b));
    return () => Buffer.concat(parts);
  };

  it('takes our id 1, so the extended handshake is byte for byte what the codec makes', () => {
    const dict = encodeLiveHandshake({ token: 'a.b.c', role: 'source', auth: Buffer.alloc(64, 7) });
    const plain = new Wire();
    const plainOut = sent(plain);
    plain.extendedHandshake(dict);
    const used = new Wire();
    const usedOut = sent(used);
    assert.equal(used.use(gcLive({ handshake: () => undefined, message: () => undefined })), GC_LIVE_LOCAL_ID);
    used.extendedHandshake(dict);
    assert.ok(usedOut().equals(plainOut()));
  });

  it('decodes what arrives under its id and hands it over; a malformed message is the wire error', () => {
    const a = new Wire();
    const b = new Wire();
    a.on('data', (x) => b.receive(x));
    b.on('data', (x) => a.receive(x));
    const got: LiveMessage[] = [];
    const errors: Error[] = [];
    b.on('error', (e) => errors.push(e));
    a.use(gcLive({ handshake: () => undefined, message: () => undefined }));
    b.use(gcLive({ handshake: () => undefined, message: (m) => got.push(m) }));
    a.handshake(randomBytes(20), Buffer.alloc(20, 1));
    b.handshake(randomBytes(20), Buffer.alloc(20, 2));
    b.extendedHandshake({});
    a.extended(GC_LIVE, encodeLiveMessage({ t: 'leaving', reason: 'bye' }));
    a.extended(GC_LIVE, bencode({ t: 'later-type' }));
    assert.deepEqual(got, [{ t: 'leaving', reason: 'bye' }], 'an unknown type is skipped');
    a.extended(GC_LIVE, bencode({ t: 'window', base: -1, bits: Buffer.alloc(1) }));
    assert.ok(errors[0] instanceof ProtocolError);
  });
});
