/**
 * The live extension's window bitmap, which replaces BEP 3's `bitfield`: a
 * base sequence number and bits, most significant bit first, where bit i
 * stands for piece base + i. Spare bits in the last byte are zero.
 */
import { ProtocolError } from '../core/errors.js';

/**
 * The largest window a peer may advertise: 65,536 pieces is about 2.4 hours
 * at 2 Mbit/s, far above any live window, and caps what one message can cost.
 */
export const MAX_WINDOW_BITS = 65_536;

/** Seqs outside [base, base + length) are left out: the window only speaks of itself. */
export function encodeWindow(base: number, seqs: Iterable<number>, length: number): Buffer {
  if (!Number.isSafeInteger(base) || base < 0) throw new RangeError(`window base must be a non-negative integer, got ${base}`);
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_WINDOW_BITS) {
    throw new RangeError(`window length must be an integer in [0, ${MAX_WINDOW_BITS}], got ${length}`);
  }
  const bits = Buffer.alloc(Math.ceil(length / 8));
  for (const seq of seqs) {
    const i = seq - base;
    if (!Number.isInteger(i) || i < 0 || i >= length) continue;
    const byte = i >> 3;
    bits[byte] = (bits[byte] ?? 0) | (0x80 >> (i & 7));
  }
  return bits;
}

/** The seqs a peer's window names, ascending. Throws ProtocolError on a window no honest peer sends. */
export function decodeWindow(base: number, bits: Uint8Array): number[] {
  if (!Number.isSafeInteger(base) || base < 0) throw new ProtocolError(`window base must be a non-negative integer, got ${base}`);
  if (bits.length * 8 > MAX_WINDOW_BITS) {
    throw new ProtocolError(`window of ${bits.length * 8} pieces is larger than the ${MAX_WINDOW_BITS} allowed`);
  }
  if (!Number.isSafeInteger(base + bits.length * 8)) throw new ProtocolError(`window at ${base} runs past the largest sequence number`);
  const seqs: number[] = [];
  for (let byte = 0; byte < bits.length; byte++) {
    const b = bits[byte] ?? 0;
    if (b === 0) continue;
    for (let bit = 0; bit < 8; bit++) {
      if (b & (0x80 >> bit)) seqs.push(base + byte * 8 + bit);
    }
  }
  return seqs;
}
