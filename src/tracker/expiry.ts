/**
 * The heartbeat watch (step D's timer): sweeps once a period on the injected
 * clock. Sweeps may overlap: each picks what is due synchronously and a leave
 * takes the session out of the registry before its first await, so no
 * session leaves twice.
 *
 * A stalled tracker (SIGSTOP, a blocked loop) must not judge its clients by
 * the time it could not read them: after a stall the timer runs before the
 * loop reads the heartbeats queued meanwhile. So a tick more than
 * `stallMarginMs` late expires nobody; it hands the stalled time to
 * `stalled` (which credits every session with it) and the next tick, one
 * period on, sweeps as usual.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import type { Logger } from 'pino';

export function startExpiry(deps: {
  clock: Clock;
  everyMs: number;
  stallMarginMs: number;
  sweep: () => Promise<void>;
  stalled: (ms: number) => void;
  logger: Logger;
}): TimerHandle {
  let last = deps.clock.now();
  return deps.clock.setInterval(() => {
    const now = deps.clock.now();
    const late = now - last - deps.everyMs;
    last = now;
    if (late > deps.stallMarginMs) {
      deps.logger.warn({ stalledMs: late }, 'tracker was stalled: expiry credits the stalled time and skips this sweep');
      deps.stalled(late);
      return;
    }
    deps.sweep().catch((err: unknown) => deps.logger.error({ err }, 'expiry sweep failed'));
  }, deps.everyMs);
}
