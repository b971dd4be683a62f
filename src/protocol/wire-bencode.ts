/**
 * Strict bencode for bytes that come from peers. The `bencode` package is
 * lenient where a peer-facing parser must not be (it ignores trailing bytes,
 * accepts leading zeros and unsafe integers, assigns `__proto__` keys onto a
 * plain object and recurses without a bound), so the wire decodes with this
 * small codec instead: every malformed input is a ProtocolError naming the
 * fault, dictionaries have no prototype, and integers are safe JS numbers.
 */
import { ProtocolError } from '../core/errors.js';

/** A decoded value: byte strings stay Buffers; the caller decides what is text. */
export type BValue = number | Buffer | BValue[] | BDict;
export interface BDict {
  [key: string]: BValue | undefined;
}

/** What `bencode()` accepts: strings are UTF-8 byte strings; undefined dict entries are left out. */
export type BEncodable = number | string | Uint8Array | BEncodable[] | { [key: string]: BEncodable | undefined };

export const MAX_BENCODE_DEPTH = 16;

export function bencode(value: BEncodable): Buffer {
  const parts: Buffer[] = [];
  encodeInto(value, parts, 0);
  return Buffer.concat(parts);
}

function encodeInto(value: BEncodable, out: Buffer[], depth: number): void {
  if (depth > MAX_BENCODE_DEPTH) throw new RangeError('bencode: value nested too deeply');
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`bencode: ${value} is not a safe integer`);
    out.push(Buffer.from(`i${value}e`, 'latin1'));
  } else if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    out.push(Buffer.from(`${bytes.length}:`, 'latin1'), bytes);
  } else if (value instanceof Uint8Array) {
    out.push(Buffer.from(`${value.length}:`, 'latin1'), Buffer.from(value.buffer, value.byteOffset, value.length));
  } else if (Array.isArray(value)) {
    out.push(Buffer.from('l', 'latin1'));
    for (const item of value) encodeInto(item, out, depth + 1);
    out.push(Buffer.from('e', 'latin1'));
  } else {
    out.push(Buffer.from('d', 'latin1'));
    // BEP 3: keys sorted as raw byte strings.
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
    for (const key of keys) {
      encodeInto(key, out, depth + 1);
      encodeInto(value[key] as BEncodable, out, depth + 1);
    }
    out.push(Buffer.from('e', 'latin1'));
  }
}

const I = 0x69;
const L = 0x6c;
const D = 0x64;
const E = 0x65;
const COLON = 0x3a;
const MINUS = 0x2d;

/** Decodes exactly one value filling all of `buf`; throws ProtocolError otherwise. */
export function bdecode(buf: Buffer): BValue {
  if (buf.length === 0) throw new ProtocolError('bencode: empty input');
  const state = { pos: 0 };
  const value = decodeAt(buf, state, 0);
  if (state.pos !== buf.length) throw new ProtocolError(`bencode: ${buf.length - state.pos} trailing bytes`);
  return value;
}

/** Decodes `buf` and requires a dictionary at the top. */
export function bdecodeDict(buf: Buffer, what: string): BDict {
  const value = bdecode(buf);
  if (!isBDict(value)) throw new ProtocolError(`${what}: not a bencoded dictionary`);
  return value;
}

export function isBDict(v: BValue | undefined): v is BDict {
  return typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && !Array.isArray(v);
}

function decodeAt(buf: Buffer, s: { pos: number }, depth: number): BValue {
  if (depth > MAX_BENCODE_DEPTH) throw new ProtocolError('bencode: nested too deeply');
  const c = buf[s.pos];
  if (c === undefined) throw new ProtocolError('bencode: truncated');
  if (c === I) return decodeInt(buf, s);
  if (c === L) {
    s.pos++;
    const list: BValue[] = [];
    while (buf[s.pos] !== E) {
      if (s.pos >= buf.length) throw new ProtocolError('bencode: unterminated list');
      list.push(decodeAt(buf, s, depth + 1));
    }
    s.pos++;
    return list;
  }
  if (c === D) {
    s.pos++;
    const dict: BDict = Object.create(null) as BDict;
    while (buf[s.pos] !== E) {
      if (s.pos >= buf.length) throw new ProtocolError('bencode: unterminated dictionary');
      if (buf[s.pos] === I || buf[s.pos] === L || buf[s.pos] === D) {
        throw new ProtocolError('bencode: dictionary key is not a byte string');
      }
      const key = decodeBytes(buf, s).toString('latin1');
      if (key in dict) throw new ProtocolError(`bencode: duplicate key "${key}"`);
      dict[key] = decodeAt(buf, s, depth + 1);
    }
    s.pos++;
    return dict;
  }
  if (c >= 0x30 && c <= 0x39) return decodeBytes(buf, s);
  throw new ProtocolError(`bencode: unexpected byte 0x${c.toString(16)} at ${s.pos}`);
}

function decodeInt(buf: Buffer, s: { pos: number }): number {
  const end = buf.indexOf(E, s.pos + 1);
  if (end < 0) throw new ProtocolError('bencode: unterminated integer');
  const text = buf.toString('latin1', s.pos + 1, end);
  if (!/^(0|-?[1-9][0-9]*)$/.test(text)) throw new ProtocolError(`bencode: malformed integer "${text.slice(0, 24)}"`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new ProtocolError('bencode: integer out of the safe range');
  s.pos = end + 1;
  return n;
}

function decodeBytes(buf: Buffer, s: { pos: number }): Buffer {
  const colon = buf.indexOf(COLON, s.pos);
  if (colon < 0) throw new ProtocolError('bencode: byte string without ":"');
  const text = buf.toString('latin1', s.pos, colon);
  if (buf[s.pos] === MINUS || !/^(0|[1-9][0-9]{0,9})$/.test(text)) {
    throw new ProtocolError(`bencode: malformed byte string length "${text.slice(0, 24)}"`);
  }
  const len = Number(text);
  const start = colon + 1;
  if (start + len > buf.length) throw new ProtocolError('bencode: byte string runs past the end');
  s.pos = start + len;
  return buf.subarray(start, start + len);
}
