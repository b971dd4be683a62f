/**
 * What goes to the player, in order. Pieces arrive out of order; output
 * starts at the first random access point (RAP) at or after the start seq and
 * then follows seq order strictly. When a hole has held output up for longer
 * than maxStallMs while later pieces wait, output jumps to the next piece
 * with a RAP (starting at the RAP itself), because bytes after a hole up to
 * the next RAP only decode as garbage. A hole where the source's timeline
 * jumps (it restarted: the seqs in the hole were never made, or were lost
 * with it) and that no peer can fill is passed over as soon as the preroll
 * from a RAP after it is held, not waited for, and not counted as missed. Pure: time comes in as nowMs.
 */
import type { LivePiece } from '../core/piece.js';
import { sourceJump } from './player-clock.js';

/** Bytes for the player, with where a decoder can start in them (null: nowhere). */
export interface PlaybackSegment {
  seq: number;
  bytes: Buffer;
  rapOffset: number | null;
}

export interface PlaybackBufferOptions {
  /** Output starts at the first RAP at or after this seq (default: the first RAP offered). */
  startSeq?: number;
  /** Pieces held ahead of the next one to play; further ones are refused (bounds memory). */
  maxAhead?: number;
  /**
   * Output starts only once this many pieces from the first RAP on are held
   * in a row (default 1: the RAP alone). A start at a RAP right at the live
   * edge would otherwise leave the player no buffer at all.
   */
  preroll?: number;
  /**
   * Output starts only at a RAP at least this many pieces behind the live
   * edge (passed to drain), so every player starts with about the same
   * buffer instead of anywhere between none and a GOP (default 0).
   */
  minLead?: number;
}

/** What drain needs to tell a source restart's gap from a hole that is still coming. */
export interface SourceGapCheck {
  /** Milliseconds of stream per piece. */
  intervalMs: number;
  /** Whether a peer advertises seq or it is being fetched: such a hole is waited for as usual. */
  obtainable: (seq: number) => boolean;
}

export class PlaybackBuffer {
  private readonly pending = new Map<number, LivePiece>();
  private readonly maxAhead: number;
  private readonly preroll: number;
  private readonly minLead: number;
  private startFixed: boolean;
  /** The next seq to play; before the start, the lowest seq accepted. */
  private nextSeq: number | null;
  private needRap = true;
  private started = false;
  private holeSince: number | null = null;
  private playedCount = 0;
  private missedCount = 0;
  private firstByte: number | null = null;
  /** [from, to) ranges output skipped, newest last. */
  private readonly skips: Array<[number, number]> = [];
  /** [from, to) ranges passed over at source restarts (not stream: never made or lost with the source), newest last. */
  private readonly gaps: Array<[number, number]> = [];
  private gapCount = 0;
  /** The last piece output, with its source timestamp. */
  private last: { seq: number; ts: number } | null = null;

  constructor(opts: PlaybackBufferOptions = {}) {
    this.nextSeq = opts.startSeq ?? null;
    this.startFixed = opts.startSeq !== undefined;
    this.maxAhead = opts.maxAhead ?? 1_024;
    this.preroll = Math.max(1, opts.preroll ?? 1);
    this.minLead = Math.max(0, opts.minLead ?? 0);
  }

  /** The seq the player needs next (the playhead), or null before anything was offered. */
  get next(): number | null {
    return this.nextSeq;
  }

  get played(): number {
    return this.playedCount;
  }

  get missed(): number {
    return this.missedCount;
  }

  /** Seqs passed over where the source restarted (not counted as missed). */
  get gapped(): number {
    return this.gapCount;
  }

  /** The last source gap passed over: [from, to), to being the first seq after it. */
  get lastGap(): { from: number; to: number } | null {
    const g = this.gaps[this.gaps.length - 1];
    return g ? { from: g[0], to: g[1] } : null;
  }

  /** When the first byte went out (the nowMs of that drain), or null. */
  get firstByteAt(): number | null {
    return this.firstByte;
  }

  /** Pieces held and not yet played. */
  get buffered(): number {
    return this.pending.size;
  }

  /** False when the piece is a duplicate, already behind the playhead, or too far ahead. */
  offer(piece: LivePiece): boolean {
    const { seq } = piece;
    if (this.pending.has(seq)) return false;
    if (!this.started && !this.startFixed && (this.nextSeq === null || seq < this.nextSeq)) this.nextSeq = seq;
    const next = this.nextSeq ?? seq;
    if (seq < next) return false;
    if (seq >= next + this.maxAhead) {
      if (this.started) return false;
      // Not started yet (no RAP seen): slide forward rather than wait on pieces that will never start a decode.
      this.dropBefore(seq - this.maxAhead + 1);
    }
    this.pending.set(seq, piece);
    return true;
  }

  /**
   * Jumps the playhead forward to seq (e.g. the caller fell too far behind
   * live); output resumes at the first RAP at or after it. Pieces skipped
   * after the start count as missed.
   */
  skipTo(seq: number): void {
    if (this.nextSeq !== null && seq <= this.nextSeq) return;
    if (this.started && this.nextSeq !== null) this.skipRange(this.nextSeq, seq);
    for (const s of this.pending.keys()) if (s < seq) this.pending.delete(s);
    this.nextSeq = seq;
    this.startFixed = true;
    this.needRap = true;
    this.holeSince = null;
  }

  /**
   * The segments ready for the player now, in order. `liveEdge`: the newest
   * seq anyone holds (for minLead); `gap`: lets a source restart's gap be
   * passed over at once.
   */
  drain(nowMs: number, maxStallMs: number, liveEdge: number | null = null, gap?: SourceGapCheck): PlaybackSegment[] {
    const out: PlaybackSegment[] = [];
    if (this.nextSeq === null) return out;
    if (this.needRap && !this.resumeAtRap(out, liveEdge)) return out;
    this.emitContiguous(out);
    if (gap && this.passSourceGap(gap)) {
      if (this.resumeAtRap(out)) this.emitContiguous(out);
    }
    if (this.pending.size === 0) {
      this.holeSince = null;
    } else {
      this.holeSince ??= nowMs;
      if (nowMs - this.holeSince > maxStallMs) {
        this.needRap = true;
        if (this.resumeAtRap(out)) this.emitContiguous(out);
        else this.needRap = false;
      }
    }
    if (out.length > 0 && this.firstByte === null) this.firstByte = nowMs;
    return out;
  }

  /**
   * At a hole, with later pieces held: when the lowest of them lies off the
   * last output piece's timeline by a jump (the source restarted) and no
   * peer can fill the hole, output moves to that piece (at its next RAP) and
   * the hole is recorded as a gap, not as missed.
   */
  private passSourceGap(gap: SourceGapCheck): boolean {
    const next = this.nextSeq;
    const lowest = this.sourceGapEnd(gap);
    // The player rebuffers as at the start: it goes on once the preroll from a RAP is here.
    if (next === null || lowest === null || !this.prerolled(lowest)) return false;
    this.gapCount += lowest - next;
    this.gaps.push([next, lowest]);
    if (this.gaps.length > 64) this.gaps.shift();
    this.nextSeq = lowest;
    this.needRap = true;
    this.holeSince = null;
    return true;
  }

  /**
   * Output waits at a hole that a source restart left (see passSourceGap):
   * the first seq held after it, else null. The hole is no lag to catch up on.
   */
  sourceGapEnd(gap: SourceGapCheck): number | null {
    const next = this.nextSeq;
    const last = this.last;
    if (!this.started || next === null || last === null || this.pending.size === 0 || this.pending.has(next)) return null;
    let lowest: number | null = null;
    for (const s of this.pending.keys()) if (lowest === null || s < lowest) lowest = s;
    const first = lowest === null ? undefined : this.pending.get(lowest);
    if (lowest === null || !first) return null;
    if (sourceJump(last, { seq: lowest, ts: first.timestampMs }, gap.intervalMs) === null) return null;
    for (let s = next; s < lowest; s++) if (gap.obtainable(s)) return null;
    return lowest;
  }

  /**
   * Whether a RAP at or after `from` is held with the preroll's pieces after
   * it: at least one more, or the player would resume right at the live edge
   * and stall on every piece's jitter.
   */
  private prerolled(from: number): boolean {
    const need = Math.max(2, this.preroll);
    for (const [s, p] of this.pending) {
      if (s < from || p.rapOffset === null) continue;
      let all = true;
      for (let t = s + 1; t < s + need && all; t++) all = this.pending.has(t);
      if (all) return true;
    }
    return false;
  }

  /** Whether seq lies in a gap passed over at a source restart (the last 64 are remembered). */
  inGap(seq: number): boolean {
    return this.gaps.some(([from, to]) => seq >= from && seq < to);
  }

  /** Emits from the lowest held RAP at or after next; false when none is held yet (or, at the start, it is too near live). */
  private resumeAtRap(out: PlaybackSegment[], liveEdge: number | null = null): boolean {
    const next = this.nextSeq;
    if (next === null) return false;
    let rapSeq: number | null = null;
    for (const [s, p] of this.pending) {
      if (s >= next && p.rapOffset !== null && (rapSeq === null || s < rapSeq)) rapSeq = s;
    }
    if (rapSeq === null) return false;
    const piece = this.pending.get(rapSeq);
    if (!piece || piece.rapOffset === null) return false;
    if (!this.started) {
      if (this.minLead > 0 && (liveEdge === null || liveEdge - rapSeq < this.minLead)) return false;
      for (let s = rapSeq + 1; s < rapSeq + this.preroll; s++) if (!this.pending.has(s)) return false;
    }
    if (this.started) this.skipRange(next, rapSeq);
    for (const s of this.pending.keys()) if (s < rapSeq) this.pending.delete(s);
    this.pending.delete(rapSeq);
    out.push({ seq: rapSeq, bytes: piece.payload.subarray(piece.rapOffset), rapOffset: 0 });
    this.last = { seq: rapSeq, ts: piece.timestampMs };
    this.playedCount++;
    this.started = true;
    this.needRap = false;
    this.holeSince = null;
    this.nextSeq = rapSeq + 1;
    return true;
  }

  private emitContiguous(out: PlaybackSegment[]): void {
    for (;;) {
      const next = this.nextSeq;
      if (next === null) return;
      const piece = this.pending.get(next);
      if (!piece) return;
      this.pending.delete(next);
      out.push({ seq: next, bytes: piece.payload, rapOffset: piece.rapOffset });
      this.last = { seq: next, ts: piece.timestampMs };
      this.playedCount++;
      this.holeSince = null;
      this.nextSeq = next + 1;
    }
  }

  /** Whether output went past seq without playing it (a skip after the start; the last 64 skips are remembered). */
  skipped(seq: number): boolean {
    return this.skips.some(([from, to]) => seq >= from && seq < to);
  }

  private skipRange(from: number, to: number): void {
    if (to <= from) return;
    this.missedCount += to - from;
    this.skips.push([from, to]);
    if (this.skips.length > 64) this.skips.shift();
  }

  private dropBefore(seq: number): void {
    for (const s of this.pending.keys()) if (s < seq) this.pending.delete(s);
    this.nextSeq = seq;
  }
}
