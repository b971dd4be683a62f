/** The disconnect chain's vocabulary: how a tracker's leave reason ends a disconnect, timeline entries, and what an onlooker is told. */
import type { DisconnectOutcome, TimelineEntry } from '../core/types.js';

/** Tracker leave reason → how the disconnect ended and the timeline's name for it. */
export function classify(reason: string): { outcome: DisconnectOutcome; event: string } {
  switch (reason) {
    case 'stopped':
      return { outcome: 'stopped', event: 'client_stopped' };
    case 'timeout':
      return { outcome: 'timeout', event: 'client_timeout' };
    case 'lost':
      return { outcome: 'lost', event: 'client_lost' };
    case 'revoked':
      return { outcome: 'revoked', event: 'client_gone' };
    default:
      return { outcome: 'gone', event: 'client_gone' };
  }
}

export const entry = (at: number, event: string, detail?: string): TimelineEntry => (detail === undefined ? { at, event } : { at, event, detail });

/**
 * What the chain tells an onlooker (/metrics: control/metrics.ts) as it
 * happens. Calls are synchronous and must not throw.
 */
export interface DisconnectObserver {
  /** A session was set out to be ended by kick() (an operator kick, a revoked or expired subscription, a limit). */
  started(): void;
  /** A timeline step landed (command_sent, tracker_ack, client_stopped, …, control_ack), `ms` after its disconnect began. */
  step(event: string, ms: number): void;
  /** A command was sent again: step A's timer ran out, or its tracker said hello. */
  retried(): void;
  completed(outcome: DisconnectOutcome): void;
}

export const NO_OBSERVER: DisconnectObserver = { started() {}, step() {}, retried() {}, completed() {} };
