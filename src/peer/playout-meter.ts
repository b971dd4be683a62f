/**
 * Continuity as the viewer sees it: the share of pieces present by their
 * playback deadline. The player clock says when the player reaches each
 * piece; a piece that arrived by then is on time. One that had not is late:
 * the player stalls until it comes (the clock moves back by the wait, as a
 * real player rebuffers), or, if output skipped it, the player goes on
 * without it. Each piece is judged once. Pure: time comes in as nowMs.
 */
import type { PlayerClock } from './player-clock.js';

/** A late piece: when it was due and when it came (null: output skipped it). */
export interface LatePiece {
  seq: number;
  dueAt: number;
  arrivedAt: number | null;
}

export class PlayoutMeter {
  private readonly arrivals = new Map<number, number>();
  /** The last piece judged; null before playback started. */
  private judged: number | null = null;
  onTime = 0;
  late = 0;
  /** Milliseconds the player spent waiting for late pieces. */
  stalledMs = 0;
  /** The last few late pieces: when each was due and when it came (null: skipped). */
  readonly recentLate: LatePiece[] = [];

  /** The piece the player is stalled on, if any. */
  private waiting: number | null = null;
  /** The player was stalled when output passed over a source restart's gap. */
  private afterGap = false;

  constructor(private readonly clock: PlayerClock) {}

  private stall(ms: number): void {
    if (ms <= 0) return;
    this.clock.stalled(ms);
    this.stalledMs += ms;
  }

  /** A piece is here (arrived, verified) at nowMs. */
  arrived(seq: number, nowMs: number): void {
    if ((this.judged === null || seq > this.judged) && !this.arrivals.has(seq)) this.arrivals.set(seq, nowMs);
  }

  /** Share of judged pieces that were on time; 1 before any. */
  get continuity(): number {
    const total = this.onTime + this.late;
    return total === 0 ? 1 : this.onTime / total;
  }

  /**
   * Judges every piece whose deadline has passed. `startSeq` is the first
   * piece the player got; `skipped(seq)` says output went past seq without
   * playing it (it never will, whether or not it arrived); `absent(seq)`
   * says seq is no stream at all (a gap where the source restarted): it is
   * not judged.
   */
  update(nowMs: number, startSeq: number, skipped: (seq: number) => boolean, absent: (seq: number) => boolean = () => false): void {
    let judged = this.judged;
    if (judged === null) {
      if (this.clock.deadline(startSeq) === null) return;
      judged = this.judged = startSeq - 1;
      for (const seq of this.arrivals.keys()) if (seq < startSeq) this.arrivals.delete(seq);
    }
    for (;;) {
      const seq: number = judged + 1;
      const due = this.clock.deadline(seq);
      if (due === null || due > nowMs) break;
      if (absent(seq)) {
        // Stalled at a source restart's gap: the piece after it ends that same stall.
        if (this.waiting !== null) this.afterGap = true;
        this.waiting = null;
        this.arrivals.delete(seq);
        this.judged = judged = seq;
        continue;
      }
      const at = this.arrivals.get(seq);
      const gone = skipped(seq);
      if (at === undefined && !gone) {
        // Not here yet: the player is waiting on it now; it is judged when it comes.
        this.stall(nowMs - due);
        this.waiting = seq;
        break;
      }
      // The clock's first deadlines rest on an estimated piece interval and can fall a few ms
      // before the start itself; a piece the player already held when it started is never late.
      const startedAt = this.clock.startedAt;
      const held = at !== undefined && (at <= due || (startedAt !== null && at <= startedAt));
      const endsGapStall = this.afterGap && !gone && at !== undefined;
      this.afterGap = false;
      if (endsGapStall) {
        this.stall(at - due);
        this.onTime++;
      } else if (!gone && held && this.waiting !== seq) {
        this.onTime++;
      } else {
        // Skipped by output (never shown, whenever it arrived), or here after its deadline.
        this.late++;
        this.recentLate.push({ seq, dueAt: due, arrivedAt: gone ? null : (at ?? null) });
        if (this.recentLate.length > 32) this.recentLate.shift();
        if (!gone && at !== undefined) this.stall(at - due);
      }
      this.waiting = null;
      this.arrivals.delete(seq);
      this.judged = judged = seq;
    }
  }
}

/**
 * Where a player too far behind live should jump to: the start lag behind
 * the live edge, or null when it is close enough (within catchUpMs) or
 * already there.
 */
export function catchUpTarget(o: { behindMs: number; edge: number; next: number; intervalMs: number; catchUpMs: number; startLagMs: number }): number | null {
  if (o.behindMs <= o.catchUpMs || o.intervalMs <= 0) return null;
  const target = o.edge - Math.round(o.startLagMs / o.intervalMs);
  return target > o.next ? target : null;
}
