/**
 * Serves the requests of the peers we unchoked, in the order a priority
 * gives (relayPriority: a copy under way first, then the piece sent fewest
 * times, then the oldest), within the upload cap (token bucket): one piece
 * block leaves only when the bucket holds its bytes, so the cap is honoured
 * exactly.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
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
  private timer: TimerHandle | null = null;
  uploaded = 0;

  constructor(
    private readonly deps: {
      bucket: TokenBucket;
      clock: Clock;
      /** The block's bytes, or null if we no longer hold the piece. */
      block: (req: UploadRequest, key: string) => Buffer | null;
      /** Per-peer queue bound: a peer asking for more is misbehaving and loses the excess (DEFAULTS.peer.uploadQueueMax). */
      maxQueue?: number;
      /** The queued request with the lowest value goes first (relayPriority over the relay's copies). */
      priority: (req: UploadRequest, key: string) => number;
    },
  ) {}

  enqueue(target: UploadTarget, req: UploadRequest): void {
    let q = this.queues.get(target.key);
    if (!q) {
      q = { target, reqs: [] };
      this.queues.set(target.key, q);
      this.order.push(target.key);
    }
    if (q.reqs.length >= (this.deps.maxQueue ?? DEFAULTS.peer.uploadQueueMax)) return;
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
    const priority = this.deps.priority;
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

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
    this.queues.clear();
    this.order = [];
  }
}
