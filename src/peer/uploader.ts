/**
 * Serves the requests of the peers we unchoked, oldest first and round-robin
 * across peers, within the upload cap (token bucket): one piece block leaves
 * only when the bucket holds its bytes, so the cap is honoured exactly.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import type { TokenBucket } from './token-bucket.js';

export interface UploadRequest {
  seq: number;
  begin: number;
  length: number;
}

/**
 * The order a relay serves queued blocks in (lowest first). A piece already
 * started to a peer is finished first, so the copy is whole and can be
 * relayed at once (blocks served round-robin would finish every copy late,
 * together). Then the piece sent the fewest times, so every piece leaves once
 * before any leaves twice and fresh pieces fan out; then the oldest, the
 * nearest to someone's deadline.
 */
export function relayPriority(req: UploadRequest, copiesSent: number, startedToThisPeer: boolean): number {
  if (req.begin > 0 && startedToThisPeer) return req.seq - Number.MAX_SAFE_INTEGER;
  return copiesSent * 1e10 + req.seq;
}

export interface UploadTarget {
  key: string;
  /** Sends one block; false means the socket is full (wait for drain). */
  send(req: UploadRequest, block: Buffer): boolean;
  writable(): boolean;
}

export class Uploader {
  private readonly queues = new Map<string, { target: UploadTarget; reqs: UploadRequest[] }>();
  private order: string[] = [];
  private cursor = 0;
  private timer: TimerHandle | null = null;
  uploaded = 0;

  constructor(
    private readonly deps: {
      bucket: TokenBucket;
      clock: Clock;
      /** The block's bytes, or null if we no longer hold the piece. */
      block: (req: UploadRequest, key: string) => Buffer | null;
      /** Per-peer queue bound: a peer asking for more is misbehaving and loses the excess. */
      maxQueue?: number;
      /**
       * When given, the queued request with the lowest value goes first instead of
       * round-robin. The source uses the times a piece was already sent, so every new
       * piece leaves once before any piece leaves twice.
       */
      priority?: (req: UploadRequest, key: string) => number;
    },
  ) {}

  enqueue(target: UploadTarget, req: UploadRequest): void {
    let q = this.queues.get(target.key);
    if (!q) {
      q = { target, reqs: [] };
      this.queues.set(target.key, q);
      this.order.push(target.key);
    }
    if (q.reqs.length >= (this.deps.maxQueue ?? 64)) return;
    q.reqs.push(req);
    this.pump();
  }

  cancel(key: string, req: UploadRequest): void {
    const q = this.queues.get(key);
    if (!q) return;
    q.reqs = q.reqs.filter((r) => !(r.seq === req.seq && r.begin === req.begin && r.length === req.length));
  }

  /** Drops everything queued for a peer (choked, gone). */
  clear(key: string): void {
    this.queues.delete(key);
    this.order = this.order.filter((k) => k !== key);
  }

  /** Runs the queue: call on new requests, on drain and from the timer. */
  pump(): void {
    if (this.timer) return;
    if (this.deps.priority) {
      this.pumpByPriority(this.deps.priority);
      return;
    }
    let idle = 0;
    while (this.order.length > 0 && idle < this.order.length) {
      this.cursor %= this.order.length;
      const key = this.order[this.cursor];
      const q = key === undefined ? undefined : this.queues.get(key);
      const req = q?.reqs[0];
      if (!q || !req || !q.target.writable()) {
        idle++;
        this.cursor++;
        continue;
      }
      if (!this.takeOrWait(req.length)) return;
      q.reqs.shift();
      this.sendNow(q.target, req);
      idle = 0;
      this.cursor++;
    }
  }

  /** Takes the bytes from the bucket, or arms the timer for when it will hold them. */
  private takeOrWait(bytes: number): boolean {
    const now = this.deps.clock.now();
    if (this.deps.bucket.take(bytes, now)) return true;
    const wait = Math.max(1, this.deps.bucket.waitMs(bytes, now));
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = null;
      this.pump();
    }, wait);
    return false;
  }

  private sendNow(target: UploadTarget, req: UploadRequest): void {
    const block = this.deps.block(req, target.key);
    if (!block) return;
    target.send(req, block);
    this.uploaded += block.length;
  }

  private pumpByPriority(priority: (req: UploadRequest, key: string) => number): void {
    for (;;) {
      let best: { q: { target: UploadTarget; reqs: UploadRequest[] }; i: number; p: number } | null = null;
      for (const key of this.order) {
        const q = this.queues.get(key);
        if (!q || !q.target.writable()) continue;
        for (let i = 0; i < q.reqs.length; i++) {
          const r = q.reqs[i];
          if (!r) continue;
          const p = priority(r, key);
          if (!best || p < best.p) best = { q, i, p };
        }
      }
      if (!best) return;
      const req = best.q.reqs[best.i];
      if (!req) return;
      if (!this.takeOrWait(req.length)) return;
      best.q.reqs.splice(best.i, 1);
      this.sendNow(best.q.target, req);
    }
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
    this.queues.clear();
    this.order = [];
  }
}
