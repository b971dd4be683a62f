/**
 * Sessions a (re)connecting tracker did not list in its hello. A tracker that
 * restarted holds nobody at first: its clients come back on their own (each
 * redials its channel and re-announces with its still-valid token), so a
 * missing session is not ended at once. It is given `graceMs` to be reported
 * joined again; only the ones that are not are ended as `lost`.
 *
 * The watch is in memory: if the control server restarts during a grace, the
 * tracker's next hello (it redials the restarted control server) starts a new one.
 */
import type { Clock, TimerHandle } from '../core/clock.js';

export class RejoinWatch {
  private readonly waiting = new Map<string, { trackerId: string; timer: TimerHandle }>();

  constructor(
    private readonly clock: Clock,
    private readonly graceMs: number,
    /** Called for each session not heard of again within the grace (the caller checks it is still held by `trackerId`). */
    private readonly onLost: (trackerId: string, sid: string) => Promise<void>,
  ) {}

  /** `trackerId` said hello without these sessions it held: wait for them. */
  expect(trackerId: string, sids: readonly string[]): void {
    for (const sid of sids) {
      this.forget(sid);
      const timer = this.clock.setTimeout(() => {
        this.waiting.delete(sid);
        void this.onLost(trackerId, sid);
      }, this.graceMs);
      this.waiting.set(sid, { trackerId, timer });
    }
  }

  /** The session was reported joined (it came back) or left (it is settled either way). */
  forget(sid: string): void {
    const w = this.waiting.get(sid);
    if (!w) return;
    w.timer.cancel();
    this.waiting.delete(sid);
  }

  /** Sessions still awaited, for health and tests. */
  get size(): number {
    return this.waiting.size;
  }

  stop(): void {
    for (const w of this.waiting.values()) w.timer.cancel();
    this.waiting.clear();
  }
}
