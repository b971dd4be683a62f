/** The disconnect chain's vocabulary: how a tracker's leave reason ends a disconnect, and timeline entries. */
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
