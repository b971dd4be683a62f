/**
 * The simulator's virtual time: a discrete-event queue behind the engine's
 * Clock. Timers sit in a binary heap ordered by (due time, insertion order),
 * so the next event is found in O(log n) among the ~100,000 timers of a
 * 10,000-viewer run (ManualClock's linear scan would cost a pass over all of
 * them per event). Cancelled timers stay in the heap and are skipped when
 * they surface (lazy deletion), which keeps cancel O(1).
 *
 * `defer` runs work after everything due at the current instant, before time
 * moves on: the virtual counterpart of setImmediate, which the engine uses to
 * fold a burst of messages into one pass of its picker.
 */
import type { Clock, TimerHandle } from '../src/core/clock.js';

/** A timer is its own handle: one object per timer, no closure. */
class Timer implements TimerHandle {
  constructor(
    public at: number,
    public seq: number,
    readonly fn: () => void,
    /** Period of an interval; 0 for a one-shot. */
    readonly every: number,
    public cancelled = false,
  ) {}

  cancel(): void {
    this.cancelled = true;
  }
}

/** A fixed start (2026-01-01 UTC): no wall clock in the simulation, so runs repeat exactly. */
export const SIM_EPOCH_MS = Date.UTC(2026, 0, 1);

export class EventClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly heap: Timer[] = [];
  private deferred: Timer[] = [];
  /** Work due at one instant, by instant: one heap entry per instant, however many messages arrive then. */
  private readonly buckets = new Map<number, Array<() => void>>();
  /** Timer callbacks run so far. */
  events = 0;

  constructor(start = SIM_EPOCH_MS) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, 0);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, Math.max(1, ms));
  }

  /** Runs fn once everything due now has run, at this same virtual instant. */
  defer(fn: () => void): TimerHandle {
    const timer = new Timer(this.t, 0, fn, 0);
    this.deferred.push(timer);
    return timer;
  }

  /**
   * Runs fn at virtual time `at` (not before now), with no handle to cancel
   * it: the cheap path for the link model's millions of deliveries. Work due
   * at the same instant shares one heap entry and runs in the order given.
   */
  at(at: number, fn: () => void): void {
    const t = at > this.t ? at : this.t;
    const bucket = this.buckets.get(t);
    if (bucket) {
      bucket.push(fn);
      return;
    }
    this.buckets.set(t, [fn]);
    this.push(new Timer(t, this.seq++, () => this.runBucket(t), 0));
  }

  private runBucket(t: number): void {
    const bucket = this.buckets.get(t);
    if (!bucket) return;
    // Work added for this same instant while it runs goes to a new bucket, run next.
    this.buckets.delete(t);
    this.events += bucket.length - 1;
    for (const fn of bucket) fn();
  }

  /** Timers waiting (cancelled ones not yet dropped included). */
  get queued(): number {
    return this.heap.length;
  }

  /** When the next live timer is due, or null when none is. */
  nextAt(): number | null {
    this.dropCancelled();
    return this.heap[0]?.at ?? null;
  }

  /**
   * Runs every timer due before `end` (exclusive), in order, with the
   * deferred work each instant leaves; then moves time to `end`. Returns the
   * number of timer callbacks run.
   */
  runUntil(end: number): number {
    let ran = 0;
    for (;;) {
      this.dropCancelled();
      const top = this.heap[0];
      // Deferred work waits for everything else due at this instant (it may add more, for now or later).
      if (this.deferred.length > 0 && (top === undefined || top.at > this.t)) {
        this.runDeferred();
        continue;
      }
      if (top === undefined || top.at >= end) break;
      this.pop();
      if (top.at > this.t) this.t = top.at;
      if (top.every > 0) {
        top.at = this.t + top.every;
        top.seq = this.seq++;
        this.push(top);
      } else {
        top.cancelled = true;
      }
      ran++;
      top.fn();
    }
    this.runDeferred();
    if (end > this.t) this.t = end;
    this.events += ran;
    return ran;
  }

  private runDeferred(): void {
    // Work deferred by deferred work runs too, still at this instant.
    while (this.deferred.length > 0) {
      const batch = this.deferred;
      this.deferred = [];
      for (const d of batch) {
        if (d.cancelled) continue;
        d.cancelled = true;
        d.fn();
      }
    }
  }

  private add(fn: () => void, ms: number, every: number): TimerHandle {
    const timer = new Timer(this.t + Math.max(0, ms), this.seq++, fn, every);
    this.push(timer);
    return timer;
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && (this.heap[0] as Timer).cancelled) this.pop();
  }

  private push(timer: Timer): void {
    const h = this.heap;
    let i = h.length;
    h.push(timer);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent] as Timer;
      if (!before(timer, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = timer;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && before(h[r] as Timer, h[l] as Timer)) c = r;
      const child = h[c] as Timer;
      if (!before(child, last)) break;
      h[i] = child;
      i = c;
    }
    h[i] = last;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
