/**
 * gc_live (src/protocol/live-extension.ts): the messages a peer sends under
 * the extension's id and the gatecast fields of its extended handshake.
 */
import fc from 'fast-check';
import { ProtocolError } from '../../src/core/errors.js';
import {
  LIVE_VERSION,
  MAX_REASON_BYTES,
  MAX_SID_BYTES,
  MAX_TOKEN_BYTES,
  MAX_WINDOW_BYTES,
  SIGNATURE_BYTES,
  decodeLiveHandshake,
  decodeLiveMessage,
  encodeLiveHandshake,
  encodeLiveMessage,
  windowHas,
  type LiveHandshake,
  type LiveMessage,
} from '../../src/protocol/live-extension.js';
import { bdecodeDict, bencode, type BEncodable } from '../../src/protocol/wire-bencode.js';
import { bencodable } from './target-bencode.js';
import { bytesAround, expect, pureRun, timed, valueOrTypedError, type FuzzTarget } from './harness.js';

/** Text of min..max utf-8 bytes: mostly ASCII up to the limit, sometimes any Unicode. */
const text = (min: number, max: number): fc.Arbitrary<string> =>
  fc
    .oneof(
      fc.string({ unit: 'grapheme-ascii', minLength: min, maxLength: max }),
      fc.string({ unit: 'grapheme', minLength: min, maxLength: Math.max(min, Math.floor(max / 8)) }),
    )
    .filter((s) => Buffer.byteLength(s) >= min && Buffer.byteLength(s) <= max);

export const liveMessage: fc.Arbitrary<LiveMessage> = fc.oneof(
  fc.record({ t: fc.constant('token' as const), token: text(1, 300) }),
  fc.record({
    t: fc.constant('window' as const),
    base: fc.oneof(fc.nat(), fc.maxSafeInteger().map(Math.abs)),
    bits: fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u)),
  }),
  fc.record({ t: fc.constant('leaving' as const), reason: fc.string({ unit: 'grapheme', maxLength: 120 }) }),
  fc.record({ t: fc.constant('revoked' as const), sid: text(1, MAX_SID_BYTES) }),
);

const liveHandshake = fc.record({
  token: text(0, 400),
  role: fc.constantFrom('viewer' as const, 'source' as const),
  auth: fc.uint8Array({ minLength: SIGNATURE_BYTES, maxLength: SIGNATURE_BYTES }).map((u) => Buffer.from(u)),
});

function checkMessage(m: LiveMessage | null): void {
  if (m === null) return;
  switch (m.t) {
    case 'token':
      expect(m.token.length > 0 && Buffer.byteLength(m.token) <= MAX_TOKEN_BYTES * 3, 'token empty or oversized');
      return;
    case 'window':
      expect(Number.isSafeInteger(m.base) && m.base >= 0, `window base ${m.base}`);
      expect(Buffer.isBuffer(m.bits) && m.bits.length <= MAX_WINDOW_BYTES, 'window bits oversized');
      return;
    case 'leaving':
      expect(typeof m.reason === 'string' && m.reason.length <= MAX_REASON_BYTES, 'leaving reason oversized');
      return;
    case 'revoked':
      expect(m.sid.length > 0 && m.sid.length <= MAX_SID_BYTES, 'revoked sid empty or oversized');
      return;
    default: {
      const never: never = m;
      throw new Error(`unexpected message ${String(never)}`);
    }
  }
}

function checkHandshake(h: LiveHandshake): void {
  expect(h.gcLiveId === null || (Number.isInteger(h.gcLiveId) && h.gcLiveId >= 1 && h.gcLiveId <= 255), `gc_live id ${h.gcLiveId}`);
  expect(h.version === null || typeof h.version === 'string', 'version');
  expect(h.token === null || typeof h.token === 'string', 'token');
  expect(h.role === null || h.role === 'viewer' || h.role === 'source', `role ${String(h.role)}`);
  expect(h.auth === null || (Buffer.isBuffer(h.auth) && h.auth.length === SIGNATURE_BYTES), 'gc_auth size');
}

type Dict = { [key: string]: BEncodable };

/** Dictionary-level mutations of a valid message or handshake: a field dropped, given any bencodable value, or added. */
function fieldMutated(valid: fc.Arbitrary<Dict>): fc.Arbitrary<Buffer> {
  const key = fc.oneof(fc.constantFrom('t', 'token', 'base', 'bits', 'reason', 'sid', 'm', 'v', 'gc_token', 'gc_role', 'gc_auth', 'gc_live'), fc.string({ maxLength: 6 }));
  return fc
    .tuple(valid, fc.nat(), fc.constantFrom('drop', 'replace', 'add', 'nest'), bencodable, key)
    .map(([dict, at, op, value, name]) => {
      const out: Dict = { ...dict };
      const keys = Object.keys(out);
      const k = keys[at % keys.length] ?? 't';
      if (op === 'drop') delete out[k];
      else if (op === 'replace') out[k] = value;
      else if (op === 'add') out[name] = value;
      else out['m'] = { [name]: value };
      return bencode(out);
    });
}

const messageDict = liveMessage.map((m) => ({ ...m }) as Dict);
const handshakeDict = liveHandshake.map((h) => encodeLiveHandshake(h) as Dict);

type LiveCase =
  | { message: Buffer }
  | { handshake: Buffer }
  | { roundTrip: LiveMessage }
  | { handshakeRoundTrip: { token: string; role: 'viewer' | 'source'; auth: Buffer } }
  | { window: { base: number; bits: Buffer }; seq: number };

const liveCase: fc.Arbitrary<LiveCase> = fc.oneof(
  { arbitrary: bytesAround(liveMessage.map(encodeLiveMessage)).map((message) => ({ message })), weight: 4 },
  { arbitrary: fieldMutated(messageDict).map((message) => ({ message })), weight: 3 },
  { arbitrary: bytesAround(liveHandshake.map((h) => bencode(encodeLiveHandshake(h)))).map((handshake) => ({ handshake })), weight: 4 },
  { arbitrary: fieldMutated(handshakeDict).map((handshake) => ({ handshake })), weight: 3 },
  { arbitrary: liveMessage.map((roundTrip) => ({ roundTrip })), weight: 1 },
  { arbitrary: liveHandshake.map((handshakeRoundTrip) => ({ handshakeRoundTrip })), weight: 1 },
  {
    arbitrary: fc.record({
      window: fc.record({ base: fc.oneof(fc.nat(), fc.integer(), fc.double()), bits: fc.uint8Array({ maxLength: 8 }).map((u) => Buffer.from(u)) }),
      seq: fc.oneof(fc.nat(), fc.integer(), fc.double()),
    }),
    weight: 1,
  },
);

const checkCase = timed((c: LiveCase): void => {
  if ('message' in c) {
    valueOrTypedError(() => decodeLiveMessage(c.message), ProtocolError, checkMessage);
  } else if ('handshake' in c) {
    valueOrTypedError(() => decodeLiveHandshake(bdecodeDict(c.handshake, 'extended handshake')), ProtocolError, checkHandshake);
  } else if ('roundTrip' in c) {
    const m = c.roundTrip;
    const back = decodeLiveMessage(encodeLiveMessage(m));
    expect(back !== null && back.t === m.t, 'message type lost');
    if (m.t === 'leaving' && back.t === 'leaving') {
      // Long reasons are cut to MAX_REASON_BYTES on a character boundary.
      expect(m.reason.startsWith(back.reason) && Buffer.byteLength(back.reason) <= MAX_REASON_BYTES, 'leaving reason is not a prefix');
      expect(Buffer.byteLength(m.reason) > MAX_REASON_BYTES || back.reason === m.reason, 'short leaving reason changed');
    } else {
      expect(JSON.stringify(back) === JSON.stringify(m), `round trip: ${JSON.stringify(m).slice(0, 200)} came back as ${JSON.stringify(back).slice(0, 200)}`);
    }
  } else if ('handshakeRoundTrip' in c) {
    const h = c.handshakeRoundTrip;
    const back = decodeLiveHandshake(bdecodeDict(bencode(encodeLiveHandshake(h)), 'extended handshake'));
    expect(back.gcLiveId === 1 && back.version === LIVE_VERSION && back.role === h.role, 'handshake fields changed');
    // An empty token is encoded and read back as an empty string.
    expect(back.token === h.token && back.auth !== null && back.auth.equals(h.auth), 'handshake token or gc_auth changed');
  } else {
    expect(typeof windowHas(c.window, c.seq) === 'boolean', 'windowHas did not answer a boolean');
  }
});

export const gcLiveTarget: FuzzTarget = {
  name: 'gc-live',
  checks:
    'decodeLiveMessage and decodeLiveHandshake (after bdecodeDict) on raw, valid and byte-mutated valid bencode and on valid dicts with a field dropped, retyped or added: a well-typed message/null/handshake within the size limits or ProtocolError; decode(encode(m)) == m (a leaving reason over 256 bytes comes back as a prefix); windowHas answers a boolean for any base and seq',
  testRuns: 3000,
  open: async () => pureRun(fc.property(liveCase, (c) => checkCase(c))),
};
