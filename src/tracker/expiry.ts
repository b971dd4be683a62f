/**
 * The heartbeat watch (step D's timer): sweeps once a period on the injected
 * clock. Sweeps may overlap: each picks what is due synchronously and a leave
 * takes the session out of the registry before its first await, so no
 * session leaves twice.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import type { Logger } from 'pino';

export function startExpiry(deps: { clock: Clock; everyMs: number; sweep: () => Promise<void>; logger: Logger }): TimerHandle {
  return deps.clock.setInterval(() => {
    deps.sweep().catch((err: unknown) => deps.logger.error({ err }, 'expiry sweep failed'));
  }, deps.everyMs);
}
