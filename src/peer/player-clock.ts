/**
 * Where the player is in the stream, in sequence numbers. Output is written
 * as soon as pieces are in order, so the player (VLC, mpv, a file) holds the
 * buffer; but deadlines must count from what the player consumes now, or
 * every piece at the live edge would look due at once and be fetched from
 * the source. The player plays in real time from its first byte, so its
 * position follows the source's timestamps at a fixed offset. Pure: time
 * comes in as nowMs.
 */
export class PlayerClock {
  private interval: number;
  private ref: { seq: number; ts: number } | null = null;
  /** now − source timestamp of what the player shows now. */
  private offset: number | null = null;
  private startMs: number | null = null;

  constructor(nominalIntervalMs: number) {
    this.interval = nominalIntervalMs;
  }

  /** Milliseconds of stream per piece, as measured from the source's timestamps. */
  get intervalMs(): number {
    return this.interval;
  }

  /** A verified piece: refines the interval estimate from the source's own clock. */
  observe(seq: number, timestampMs: number): void {
    const ref = this.ref;
    if (ref && seq > ref.seq) {
      const n = seq - ref.seq;
      const sample = (timestampMs - ref.ts) / n;
      if (n <= 256 && sample > 1 && sample < 10_000) this.interval += (sample - this.interval) * Math.min(0.5, n / 20);
    }
    if (!ref || seq > ref.seq) this.ref = { seq, ts: timestampMs };
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
