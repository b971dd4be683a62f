/**
 * Anything with a timer takes a Clock, so retries and timeouts are tested in
 * virtual time. The system implementation lives in protocol/system-clock.ts;
 * ManualClock here is pure bookkeeping, advanced by tests (and by the
 * simulator, which is why its queue is a heap: millions of timers).
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  setInterval(fn: () => void, ms: number): TimerHandle;
  /**
   * Runs `fn` at the current time, after the callback now running (and after
   * what it already deferred): once-per-turn work, such as one pass of the
   * picker after a burst of messages, without a timer of its own.
   */
  defer(fn: () => void): TimerHandle;
}

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  every: number | null;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  /** A binary min-heap on (at, seq); cancelled entries are dropped when they reach the top. */
  private heap: Pending[] = [];
  private live = 0;

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, null);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, Math.max(1, ms));
  }

  /** Queued at the current time behind everything already due now; advance(0) runs it. */
  defer(fn: () => void): TimerHandle {
    return this.add(fn, 0, null);
  }

  /** Runs every timer due within the next `ms`, in order, including ones they schedule. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.nextDue(end);
      if (!next) break;
      // A timer made late by jump() runs at the current time, and an interval goes on from then (as Node's do).
      this.t = Math.max(this.t, next.at);
      if (next.every !== null) {
        next.at = this.t + next.every;
        this.push(next);
      } else {
        next.cancelled = true;
        this.live--;
      }
      next.fn();
    }
    this.t = end;
  }

  /**
   * Moves time on without running any timer, as a stopped (SIGSTOP) or
   * blocked process sees it; the late timers run once each on the next advance.
   */
  jump(ms: number): void {
    this.t += ms;
  }

  /** Timers still pending (not run, not cancelled). */
  get timers(): number {
    return this.live;
  }

  /** When the next pending timer is due, or null: lets a simulator jump straight to it. */
  get nextAt(): number | null {
    this.dropCancelled();
    return this.heap[0]?.at ?? null;
  }

  /** Pops the next timer due by `end`, or undefined. */
  private nextDue(end: number): Pending | undefined {
    this.dropCancelled();
    const top = this.heap[0];
    if (!top || top.at > end) return undefined;
    this.pop();
    return top;
  }

  private dropCancelled(): void {
    while (this.heap[0]?.cancelled) this.pop();
  }

  private add(fn: () => void, ms: number, every: number | null): TimerHandle {
    const p: Pending = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, every, cancelled: false };
    this.push(p);
    this.live++;
    return {
      cancel: () => {
        if (p.cancelled) return;
        p.cancelled = true;
        this.live--;
      },
    };
  }

  private push(p: Pending): void {
    const h = this.heap;
    h.push(p);
    let i = h.length - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      const parent = h[up] as Pending;
      if (!before(p, parent)) break;
      h[i] = parent;
      i = up;
    }
    h[i] = p;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (!last || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const child = r < h.length && before(h[r] as Pending, h[l] as Pending) ? r : l;
      const c = h[child] as Pending;
      if (!before(c, last)) break;
      h[i] = c;
      i = child;
    }
    h[i] = last;
  }
}

function before(a: Pending, b: Pending): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
