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

interface Queue {
  key: string;
  target: UploadTarget;
  reqs: UploadRequest[];
}

export class Uploader {
  private readonly queues = new Map<string, Queue>();
  /** The queues in the order their peers first asked (ties in priority go to the earliest). */
  private order: Queue[] = [];
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
      q = { key: target.key, target, reqs: [] };
      this.queues.set(target.key, q);
      this.order.push(q);
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
    if (!this.queues.delete(key)) return;
    this.order = this.order.filter((q) => q.key !== key);
  }

  /** Runs the queue: call on new requests, on drain and from the timer. */
  pump(): void {
    if (this.timer) return;
    const priority = this.deps.priority;
    for (;;) {
      // The lowest priority over every writable queue; the first found wins a tie. No allocation: this runs per block.
      let bestQ: Queue | null = null;
      let bestI = 0;
      let bestP = 0;
      for (const q of this.order) {
        const reqs = q.reqs;
        if (reqs.length === 0 || !q.target.writable()) continue;
        for (let i = 0; i < reqs.length; i++) {
          const p = priority(reqs[i] as UploadRequest, q.key);
          if (bestQ === null || p < bestP) {
            bestQ = q;
            bestI = i;
            bestP = p;
          }
        }
      }
      if (bestQ === null) return;
      const req = bestQ.reqs[bestI] as UploadRequest;
      if (!this.takeOrWait(req.length)) return;
      bestQ.reqs.splice(bestI, 1);
      this.sendNow(bestQ.target, req);
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
