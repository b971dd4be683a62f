/**
 * Anything with a timer takes a Clock, so retries and timeouts are tested in
 * virtual time. The system implementation lives in protocol/system-clock.ts;
 * ManualClock here is pure bookkeeping, advanced by tests.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  setInterval(fn: () => void, ms: number): TimerHandle;
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
  private pending: Pending[] = [];

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

  /** Runs every timer due within the next `ms`, in order, including ones they schedule. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.nextDue(end);
      if (!next) break;
      // A timer made late by jump() runs at the current time, and an interval goes on from then (as Node's do).
      this.t = Math.max(this.t, next.at);
      if (next.every !== null) next.at = this.t + next.every;
      else next.cancelled = true;
      next.fn();
    }
    this.t = end;
    this.pending = this.pending.filter((p) => !p.cancelled);
  }

  /**
   * Moves time on without running any timer, as a stopped (SIGSTOP) or
   * blocked process sees it; the late timers run once each on the next advance.
   */
  jump(ms: number): void {
    this.t += ms;
  }

  get timers(): number {
    return this.pending.filter((p) => !p.cancelled).length;
  }

  private nextDue(end: number): Pending | undefined {
    let best: Pending | undefined;
    for (const p of this.pending) {
      if (p.cancelled || p.at > end) continue;
      if (!best || p.at < best.at || (p.at === best.at && p.seq < best.seq)) best = p;
    }
    return best;
  }

  private add(fn: () => void, ms: number, every: number | null): TimerHandle {
    const p: Pending = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, every, cancelled: false };
    this.pending.push(p);
    return {
      cancel: () => {
        p.cancelled = true;
      },
    };
  }
}
