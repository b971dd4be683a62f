/**
 * Where the player is in the stream, in sequence numbers. Output is written
 * as soon as pieces are in order, so the player (VLC, mpv, a file) holds the
 * buffer; but deadlines must count from what the player consumes now, or
 * every piece at the live edge would look due at once and be fetched from
 * the source. The player plays in real time from its first byte, so its
 * position follows the source's timestamps at a fixed offset. Pure: time
 * comes in as nowMs.
 */

/** A piece this far off the source's timeline (ms) marks a source pause or restart, not jitter. */
export const SOURCE_JUMP_MS = 1_000;

/**
 * How far (ms) piece `b`'s timestamp lies off where the source's timeline
 * through piece `a` puts it, when that is a jump (a pause or a restart of
 * the source) rather than jitter or the interval estimate's error over the
 * span; null otherwise. `b` comes after `a`.
 */
export function sourceJump(a: { seq: number; ts: number }, b: { seq: number; ts: number }, intervalMs: number): number | null {
  const n = b.seq - a.seq;
  const jump = b.ts - (a.ts + n * intervalMs);
  return Math.abs(jump) > Math.max(SOURCE_JUMP_MS, (n * intervalMs) / 2) ? jump : null;
}

export class PlayerClock {
  private interval: number;
  private ref: { seq: number; ts: number } | null = null;
  /** now − source timestamp of what the player shows now. */
  private offset: number | null = null;
  private startMs: number | null = null;
  private jumps = 0;

  constructor(nominalIntervalMs: number) {
    this.interval = nominalIntervalMs;
  }

  /** Milliseconds of stream per piece, as measured from the source's timestamps. */
  get intervalMs(): number {
    return this.interval;
  }

  /**
   * A verified piece: refines the interval estimate from the source's own
   * clock. A piece off the timeline by a jump (sourceJump: the source
   * paused or restarted) is no interval sample, and the player's position
   * moves with the jump, so the pieces after it fall due right after those
   * before it.
   */
  observe(seq: number, timestampMs: number): void {
    const ref = this.ref;
    if (ref && seq > ref.seq) {
      const n = seq - ref.seq;
      const jump = sourceJump(ref, { seq, ts: timestampMs }, this.interval);
      if (jump !== null) {
        if (this.offset !== null) this.offset -= jump;
        this.jumps++;
      } else {
        const sample = (timestampMs - ref.ts) / n;
        if (n <= 256 && sample > 1 && sample < 10_000) this.interval += (sample - this.interval) * Math.min(0.5, n / 20);
      }
    }
    if (!ref || seq > ref.seq) this.ref = { seq, ts: timestampMs };
  }

  /** How many times the source's timestamps jumped against its seqs (pauses, restarts). */
  get sourceJumps(): number {
    return this.jumps;
  }

  /** The player got its first bytes: the piece it starts with, and that piece's source timestamp. */
  started(timestampMs: number, nowMs: number): void {
    if (this.offset !== null) return;
    this.offset = nowMs - timestampMs;
    this.startMs = nowMs;
  }

  /** When the player got its first bytes (the caller's clock); null before. */
  get startedAt(): number | null {
    return this.startMs;
  }

  /** The seq the player is consuming now, or null before playback started. */
  playhead(nowMs: number): number | null {
    if (this.offset === null || !this.ref) return null;
    const streamNow = nowMs - this.offset;
    return this.ref.seq + Math.floor((streamNow - this.ref.ts) / this.interval);
  }

  /**
   * How far behind the source the player is: now minus the source timestamp
   * of what it shows (the same clock on one machine; otherwise their offset
   * too). Null before playback started.
   */
  get behindMs(): number | null {
    return this.offset;
  }

  /** When (ms, the caller's clock) the player reaches seq: its playback deadline. Null before playback started. */
  deadline(seq: number): number | null {
    if (this.offset === null || !this.ref) return null;
    return this.offset + this.ref.ts + (seq - this.ref.seq) * this.interval;
  }

  /**
   * The player stalled: it ran out of data and waited this long, so
   * everything after plays that much later (a real player rebuffers; it does
   * not skip ahead to where the stream "should" be).
   */
  stalled(ms: number): void {
    if (this.offset !== null && ms > 0) this.offset += ms;
  }

  /** Output skipped this much stream to get closer to live: the player gets there that much sooner. */
  skipped(ms: number): void {
    if (this.offset !== null && ms > 0) this.offset -= ms;
  }
}
