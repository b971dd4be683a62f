/**
 * The verified pieces a peer holds and serves: a sliding window of at most
 * `capacity` consecutive sequence numbers ending at the newest piece. Older
 * pieces fall out as newer ones arrive, so memory stays at capacity × piece.
 */
import type { LivePiece } from '../core/piece.js';
import { MAX_WINDOW_BITS, encodeWindow } from './bitmap.js';

export class LiveWindow {
  private readonly pieces = new Map<number, LivePiece>();
  /** Nothing below this seq is accepted any more. */
  private floor = 0;
  private newestSeq: number | null = null;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > MAX_WINDOW_BITS) {
      throw new RangeError(`window capacity must be an integer in [1, ${MAX_WINDOW_BITS}], got ${capacity}`);
    }
  }

  /** False when the piece is already held or older than the window. */
  add(piece: LivePiece): boolean {
    const { seq } = piece;
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`piece seq must be a non-negative integer, got ${seq}`);
    if (seq < this.floor || this.pieces.has(seq)) return false;
    if (this.newestSeq !== null && seq <= this.newestSeq - this.capacity) return false;
    this.pieces.set(seq, piece);
    if (this.newestSeq === null || seq > this.newestSeq) {
      this.newestSeq = seq;
      this.raiseFloor(seq - this.capacity + 1);
    }
    return true;
  }

  get(seq: number): LivePiece | undefined {
    return this.pieces.get(seq);
  }

  has(seq: number): boolean {
    return this.pieces.has(seq);
  }

  get size(): number {
    return this.pieces.size;
  }

  /** The highest seq held, or null when empty. */
  get newest(): number | null {
    return this.pieces.size === 0 ? null : this.newestSeq;
  }

  /** The lowest seq held, or null when empty. */
  get oldest(): number | null {
    if (this.pieces.size === 0 || this.newestSeq === null) return null;
    for (let s = Math.max(this.floor, this.newestSeq - this.capacity + 1); s <= this.newestSeq; s++) {
      if (this.pieces.has(s)) return s;
    }
    return null;
  }

  /** Drops every piece below seq and refuses them from now on. */
  evictBefore(seq: number): void {
    this.raiseFloor(seq);
  }

  /** The window bitmap for the wire: from the oldest piece held to the newest. */
  toWindow(): { base: number; bits: Buffer } {
    const oldest = this.oldest;
    const newest = this.newest;
    if (oldest === null || newest === null) return { base: this.floor, bits: Buffer.alloc(0) };
    return { base: oldest, bits: encodeWindow(oldest, this.pieces.keys(), newest - oldest + 1) };
  }

  /** The seqs held, ascending. */
  haves(): number[] {
    return [...this.pieces.keys()].sort((a, b) => a - b);
  }

  private raiseFloor(seq: number): void {
    if (seq <= this.floor) return;
    const old = this.floor;
    this.floor = seq;
    if (seq - old <= this.pieces.size) {
      for (let s = old; s < seq; s++) this.pieces.delete(s);
    } else {
      for (const s of this.pieces.keys()) if (s < seq) this.pieces.delete(s);
    }
  }
}
