/**
 * The broadcaster's media pipeline: ingest bytes → Segmenter → signed pieces,
 * emitted in sequence order. A partial piece waits at most maxPieceWaitMs for
 * data to complete it; then it goes out padded with null packets, so a
 * low-bitrate stream still reaches viewers promptly.
 */
import { EventEmitter } from 'node:events';
import type { KeyObject } from 'node:crypto';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { LivePiece } from '../core/piece.js';
import type { Ingest } from './ingest.js';
import { PieceSigner } from './piece-signer.js';
import { Segmenter, type PieceFields } from './segmenter.js';

export interface LiveSourceOptions {
  ingest: Ingest;
  packetsPerPiece: number;
  infoHash: Buffer;
  sourceKey: KeyObject;
  clock: Clock;
  /** Default 500. */
  maxPieceWaitMs?: number;
  /** Default defaultFirstSeq(clock.now()). */
  firstSeq?: number;
  /**
   * Called with each seq before it is signed (SeqReservation.use): it throws
   * when the seq cannot be durably reserved, and then nothing is signed.
   */
  reserve?: (seq: number) => void;
}

export interface LiveSourceStats {
  pieces: number;
  /** Pieces completed by the maxPieceWaitMs timer (padded with null packets). */
  paddedPieces: number;
  /** Bytes read from the ingest. */
  ingestBytes: number;
  /** Encoded piece bytes emitted (headers included). */
  pieceBytes: number;
  /** Ingest bytes skipped because they were not TS packets. */
  droppedBytes: number;
  /** Sequence number of the last piece emitted, or null before the first. */
  lastSeq: number | null;
}

export interface LiveSourceEvents {
  piece: [LivePiece];
  error: [Error];
  /** The ingest ended by itself (e.g. stdin closed); not emitted after stop(). */
  end: [];
}

/** Sequence numbers start from a clock-based value so a restarted source never reuses one. */
export const SEQ_EPOCH_MS = Date.UTC(2025, 0, 1);
export const SEQ_TICK_MS = 100;

/**
 * Tenths of a second since 2025: unique across restarts while the source makes
 * at most 10 pieces a second on average, and within u32 (the BitTorrent wire's
 * piece index) until about 2038.
 */
export function defaultFirstSeq(nowMs: number): number {
  return Math.max(0, Math.floor((nowMs - SEQ_EPOCH_MS) / SEQ_TICK_MS));
}

export class LiveSource extends EventEmitter<LiveSourceEvents> {
  private readonly ingest: Ingest;
  private readonly clock: Clock;
  private readonly segmenter: Segmenter;
  private readonly signer: PieceSigner;
  private readonly maxPieceWaitMs: number;
  private readonly reserve: ((seq: number) => void) | undefined;
  private timer: TimerHandle | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly counts = { pieces: 0, paddedPieces: 0, ingestBytes: 0, pieceBytes: 0, lastSeq: null as number | null };

  constructor(opts: LiveSourceOptions) {
    super();
    this.ingest = opts.ingest;
    this.clock = opts.clock;
    this.maxPieceWaitMs = opts.maxPieceWaitMs ?? 500;
    if (!(this.maxPieceWaitMs > 0)) throw new RangeError(`maxPieceWaitMs must be positive, got ${this.maxPieceWaitMs}`);
    this.signer = new PieceSigner(opts.infoHash, opts.sourceKey);
    this.reserve = opts.reserve;
    this.segmenter = new Segmenter({
      packetsPerPiece: opts.packetsPerPiece,
      firstSeq: opts.firstSeq ?? defaultFirstSeq(opts.clock.now()),
    });
  }

  get stats(): LiveSourceStats {
    return { ...this.counts, droppedBytes: this.segmenter.droppedBytes };
  }

  /** The sequence number the next piece will carry. */
  get nextSeq(): number {
    return this.segmenter.nextSeq;
  }

  start(): void {
    if (this.running) throw new Error('LiveSource already started');
    this.running = this.run();
  }

  /** Stops the ingest; no event is emitted after the returned promise resolves. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer();
    await this.ingest.stop();
    await this.running;
  }

  private async run(): Promise<void> {
    try {
      for await (const chunk of this.ingest.chunks) {
        if (this.stopped) break;
        this.counts.ingestBytes += chunk.length;
        const pieces = this.segmenter.push(chunk, this.clock.now());
        if (pieces.length > 0) this.cancelTimer();
        this.publish(pieces, false);
        if (this.segmenter.pendingPackets > 0 && this.timer === null) {
          this.timer = this.clock.setTimeout(() => this.onPieceWait(), this.maxPieceWaitMs);
        }
      }
      if (!this.stopped) {
        this.cancelTimer();
        this.publish(this.segmenter.flush(this.clock.now()), true);
        this.emit('end');
      }
    } catch (err) {
      if (!this.stopped) this.emit('error', err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.cancelTimer();
    }
  }

  private onPieceWait(): void {
    this.timer = null;
    if (this.stopped) return;
    try {
      this.publish(this.segmenter.flush(this.clock.now()), true);
    } catch (err) {
      this.stopped = true;
      this.emit('error', err instanceof Error ? err : new Error(String(err)));
    }
  }

  private publish(fields: PieceFields[], padded: boolean): void {
    for (const f of fields) {
      this.reserve?.(f.seq);
      const piece = this.signer.sign(f);
      this.counts.pieces++;
      if (padded) this.counts.paddedPieces++;
      this.counts.pieceBytes += piece.bytes.length;
      this.counts.lastSeq = piece.seq;
      this.emit('piece', piece);
    }
  }

  private cancelTimer(): void {
    this.timer?.cancel();
    this.timer = null;
  }
}
