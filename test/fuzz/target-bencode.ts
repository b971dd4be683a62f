/**
 * The strict bencode decoder (src/protocol/wire-bencode.ts), which reads every
 * extended handshake and gc_live message a peer sends.
 */
import fc from 'fast-check';
import { ProtocolError } from '../../src/core/errors.js';
import { MAX_BENCODE_DEPTH, bdecode, bencode, type BEncodable, type BValue } from '../../src/protocol/wire-bencode.js';
import { bytesAround, expect, pureRun, timed, valueOrTypedError, type FuzzTarget } from './harness.js';

/** Keys in ASCII: the decoder reads keys as latin1 and the encoder writes them as utf-8, so only ASCII keys round-trip byte for byte. */
const asciiKey = fc.string({ unit: 'binary-ascii', maxLength: 8 });

/** Encodable values a few levels deep. */
export const bencodable: fc.Arbitrary<BEncodable> = fc.letrec<{ value: BEncodable }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 5, withCrossShrink: true },
    fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.constantFrom(0, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER)),
    fc.uint8Array({ maxLength: 24 }),
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(asciiKey, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** Lists or dictionaries nested far past the decoder's depth bound: must be a ProtocolError, not a stack overflow. */
const deeplyNested: fc.Arbitrary<Buffer> = fc
  .record({ n: fc.integer({ min: MAX_BENCODE_DEPTH - 2, max: 20_000 }), open: fc.constantFrom('l', 'd1:a'), close: fc.boolean() })
  .map(({ n, open, close }) => Buffer.from(`${open.repeat(n)}i0e${close ? 'e'.repeat(n) : ''}`, 'latin1'));

export const encodedValue: fc.Arbitrary<Buffer> = bencodable.map((v) => bencode(v));

/** A decoded value is one of the four kinds, dictionaries have no prototype, integers are safe, nesting is bounded. */
export function checkBValue(v: BValue, depth = 0): void {
  expect(depth <= MAX_BENCODE_DEPTH + 1, `decoded value nested ${depth} deep`);
  if (typeof v === 'number') {
    expect(Number.isSafeInteger(v), `integer ${v} is not safe`);
  } else if (Buffer.isBuffer(v)) {
    // A byte string.
  } else if (Array.isArray(v)) {
    for (const item of v) checkBValue(item, depth + 1);
  } else {
    expect(typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === null, 'dictionary has a prototype');
    for (const key of Object.keys(v)) {
      const item = v[key];
      expect(item !== undefined, `dictionary key "${key}" holds undefined`);
      checkBValue(item, depth + 1);
    }
  }
}

function byteStringTotal(v: BValue): number {
  if (typeof v === 'number') return 0;
  if (Buffer.isBuffer(v)) return v.length;
  if (Array.isArray(v)) return v.reduce<number>((n, item) => n + byteStringTotal(item), 0);
  return Object.keys(v).reduce((n, k) => n + k.length + byteStringTotal(v[k] as BValue), 0);
}

const decodeOne = timed((input: Buffer): void => {
  valueOrTypedError(
    () => bdecode(input),
    ProtocolError,
    (value) => {
      checkBValue(value);
      // Decoding never makes more bytes than it was given.
      expect(byteStringTotal(value) <= input.length, 'decoded byte strings outweigh the input');
    },
  );
});

const roundTrip = timed((value: BEncodable): void => {
  const bytes = bencode(value);
  const decoded = bdecode(bytes);
  checkBValue(decoded);
  expect(bencode(decoded).equals(bytes), 'bencode(bdecode(x)) differs from x');
});

export const bencodeTarget: FuzzTarget = {
  name: 'bencode',
  checks:
    'bdecode on raw, valid, mutated-valid and deeply nested bytes: a well-formed value (safe integers, prototype-less dicts, bounded depth, no more bytes than given) or ProtocolError; bencode(bdecode(x)) == x for valid x',
  testRuns: 3000,
  open: async () =>
    pureRun(
      fc.property(
        fc.oneof(
          { arbitrary: bytesAround(encodedValue).map((b) => ({ decode: b })), weight: 6 },
          { arbitrary: deeplyNested.map((b) => ({ decode: b })), weight: 1 },
          { arbitrary: bencodable.map((v) => ({ roundTrip: v })), weight: 2 },
        ),
        (c) => {
          if ('decode' in c) decodeOne(c.decode);
          else roundTrip(c.roundTrip);
        },
      ),
    ),
};
