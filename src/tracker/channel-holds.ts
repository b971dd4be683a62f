/**
 * Sessions held by a gatecast channel: once a session has proved its client
 * key on a WebSocket channel, only that key may change it. Stock clients'
 * HTTP announces carry nothing but the token, so an HTTP announce for such a
 * session is refused, whatever its event. A hold lasts while the session is in
 * the swarm and, after it left, until the last token the tracker saw for it
 * expires (a harvested token is worthless past that anyway).
 */
import { STRICT_EXPIRY, type OutageView } from '../core/outage.js';

export class ChannelHolds {
  /** `outage`: a hold lasts as long as its token is honored, past its expiry during a control outage. */
  constructor(private readonly outage: OutageView = STRICT_EXPIRY) {}

  private readonly until = new Map<string, number>();

  /** The session proved its key (or renewed its token) on a channel; its token is valid until `untilMs`. */
  hold(sid: string, untilMs: number): void {
    this.until.set(sid, Math.max(this.until.get(sid) ?? 0, untilMs));
  }

  held(sid: string, now: number): boolean {
    const until = this.until.get(sid);
    return until !== undefined && this.outage.honoredUntil(until) > now;
  }

  get size(): number {
    return this.until.size;
  }

  prune(now: number): void {
    for (const [sid, until] of this.until) if (this.outage.honoredUntil(until) <= now) this.until.delete(sid);
  }
}
