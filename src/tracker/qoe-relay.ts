/**
 * The tracker's QoE relay: keeps the latest report of each session it holds
 * (from the clients' heartbeats) and forwards the ones that changed to the
 * control server over the control link, batched: at most every `flushMs`, at
 * most `maxItems` per frame and `maxFrames` frames per flush. Reports are
 * latest-wins, so nothing is acked or resent: a report not sent yet is simply
 * replaced by the next, and one lost with a frame is replaced by the next
 * heartbeat's (every client reports each heartbeat). Bounded by `maxSessions`
 * reports; a session's report is dropped when it leaves.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import { QOE_ITEMS_MAX, type Qoe, type QoeItem } from '../protocol/qoe.js';

export interface QoeRelayOptions {
  clock: Clock;
  /** Sends one frame's items; false when the link is down (the items stay pending). */
  send: (items: QoeItem[]) => boolean;
  /** Flush period (default 1 s). */
  flushMs?: number;
  /** Items per frame (default and maximum QOE_ITEMS_MAX). */
  maxItems?: number;
  /** Frames per flush (default 20): what is over stays pending for the next flush, oldest first. */
  maxFrames?: number;
  /** Sessions whose reports are kept (default 100,000); reports of further sessions are ignored. */
  maxSessions?: number;
}

interface Held {
  qoe: Qoe;
  at: number;
}

export class QoeRelay {
  private readonly latest = new Map<string, Held>();
  /** Sessions whose latest report has not been sent, in the order they first changed. */
  private readonly dirty = new Set<string>();
  private timer: TimerHandle | null = null;
  private readonly maxItems: number;

  constructor(private readonly opts: QoeRelayOptions) {
    this.maxItems = Math.max(1, Math.min(QOE_ITEMS_MAX, opts.maxItems ?? QOE_ITEMS_MAX));
  }

  start(): void {
    this.timer ??= this.opts.clock.setInterval(() => this.flush(), this.opts.flushMs ?? 1_000);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  /** Reports held now. */
  get size(): number {
    return this.latest.size;
  }

  /** Reports waiting to be sent. */
  get pending(): number {
    return this.dirty.size;
  }

  /** The session's latest report replaces its previous one; false if it was ignored (over maxSessions). */
  report(sid: string, qoe: Qoe): boolean {
    if (!this.latest.has(sid) && this.latest.size >= (this.opts.maxSessions ?? 100_000)) return false;
    this.latest.set(sid, { qoe, at: this.opts.clock.now() });
    this.dirty.add(sid);
    return true;
  }

  /** The session left: its report is dropped, sent or not. */
  forget(sid: string): void {
    this.latest.delete(sid);
    this.dirty.delete(sid);
  }

  /** Sends pending reports, up to the frame bounds; returns how many were sent. */
  flush(): number {
    const now = this.opts.clock.now();
    let sent = 0;
    for (let frame = 0; frame < (this.opts.maxFrames ?? 20) && this.dirty.size > 0; frame++) {
      const items: QoeItem[] = [];
      for (const sid of this.dirty) {
        const held = this.latest.get(sid);
        if (held) items.push({ sid, qoe: held.qoe, age_ms: Math.max(0, Math.min(86_400_000, Math.round(now - held.at))) });
        if (items.length >= this.maxItems) break;
      }
      if (items.length === 0) break;
      if (!this.opts.send(items)) break;
      for (const item of items) this.dirty.delete(item.sid);
      sent += items.length;
    }
    return sent;
  }
}
