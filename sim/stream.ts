/**
 * The simulated live stream: one LivePiece per seq, shared by every peer (a
 * 10,000-viewer run holds each piece once, not 10,000 times), sized like the
 * real stream and made at the real pace, stamped with the virtual clock.
 * Nothing is signed: the simulation's piece check takes a piece by its seq
 * from here. Random access points fall where the segmenter puts them for the
 * bench's ffmpeg test pattern (a keyframe every second, `-g fps`): in the
 * piece whose span of stream holds the start of each second.
 */
import { DEFAULTS, TS_PACKET } from '../src/core/config.js';
import { PIECE_HEADER, pieceIntervalMs, pieceLength, type LivePiece } from '../src/core/piece.js';
import type { Clock, TimerHandle } from '../src/core/clock.js';
import { defaultFirstSeq } from '../src/broadcast/live-source.js';

export interface SimStreamOptions {
  clock: Clock;
  bitrateBps?: number;
  packetsPerPiece?: number;
  /** Stream time between two random access points (ms). */
  gopMs?: number;
}

export class SimStream {
  readonly bitrateBps: number;
  readonly packetsPerPiece: number;
  readonly pieceLength: number;
  readonly intervalMs: number;
  readonly firstSeq: number;
  private readonly gopMs: number;
  private readonly pieces = new Map<number, LivePiece>();
  /** Every piece's bytes are views of this one zeroed buffer: their content never matters here. */
  private readonly bytes: Buffer;
  private timer: TimerHandle | null = null;
  private startedAt = 0;
  private made = 0;

  constructor(private readonly opts: SimStreamOptions) {
    this.bitrateBps = opts.bitrateBps ?? DEFAULTS.programBitrateBps;
    this.packetsPerPiece = opts.packetsPerPiece ?? DEFAULTS.packetsPerPiece;
    this.pieceLength = pieceLength(this.packetsPerPiece);
    this.intervalMs = pieceIntervalMs({ packets_per_piece: this.packetsPerPiece, bitrate_bps: this.bitrateBps });
    this.gopMs = opts.gopMs ?? 1_000;
    this.firstSeq = defaultFirstSeq(opts.clock.now());
    this.bytes = Buffer.alloc(this.pieceLength);
  }

  /** The piece made with this seq, if it was made and is still within the window any peer may ask for. */
  get(seq: number): LivePiece | undefined {
    return this.pieces.get(seq);
  }

  /** Pieces made so far. */
  get count(): number {
    return this.made;
  }

  /** Makes a piece every interval from now on (each when its last packet would have come in); `emit` gets each. */
  start(emit: (piece: LivePiece) => void): void {
    this.startedAt = this.opts.clock.now();
    const next = (): void => {
      const piece = this.make(this.firstSeq + this.made);
      this.made++;
      emit(piece);
      // Scheduled from the start time, not the last piece, so float intervals do not drift.
      const due = this.startedAt + (this.made + 1) * this.intervalMs;
      this.timer = this.opts.clock.setTimeout(next, due - this.opts.clock.now());
    };
    this.timer = this.opts.clock.setTimeout(next, this.intervalMs);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  private make(seq: number): LivePiece {
    const k = seq - this.firstSeq;
    const streamFrom = k * this.intervalMs;
    const streamTo = streamFrom + this.intervalMs;
    // The first keyframe at or after this piece's first byte, if it starts within the piece.
    const rapAt = Math.ceil(streamFrom / this.gopMs) * this.gopMs;
    let rapOffset: number | null = null;
    if (rapAt < streamTo) {
      const packet = Math.min(this.packetsPerPiece - 1, Math.floor(((rapAt - streamFrom) / this.intervalMs) * this.packetsPerPiece));
      rapOffset = packet * TS_PACKET;
    }
    const piece: LivePiece = {
      seq,
      timestampMs: this.opts.clock.now(),
      rapOffset,
      payload: this.bytes.subarray(PIECE_HEADER),
      bytes: this.bytes,
    };
    this.pieces.set(seq, piece);
    // No peer keeps more than its window: older pieces can be let go.
    const windowPieces = Math.ceil((DEFAULTS.windowS * 1000) / this.intervalMs) + 16;
    this.pieces.delete(seq - 2 * windowPieces);
    return piece;
  }
}
