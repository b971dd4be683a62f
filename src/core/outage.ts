/**
 * Riding out an outage of the control server. Tokens are short-lived and only
 * the control server renews them, so without this a control outage longer
 * than a token's remaining life would end every session: the tracker would
 * expire them and peers would close every connection.
 *
 * Each party that can tell the control server is unreachable (the tracker by
 * its control link, a client by its renewals failing) keeps one of these. While
 * it says so, a token that was still valid at the last contact with the control
 * server (`since`) is honored past its expiry, up to `since + graceMs`. Once
 * the control server is reached again, the honoring goes on for `settleMs`
 * more (everyone's renewals retry every few seconds), then stops.
 *
 * Why the bound is safe: during an outage nobody can be admitted, renewed or
 * kicked anyway, so honoring tokens that were valid when it began gives no one
 * access they did not have then; revocations known before or during the outage
 * are still enforced (a revoked session is refused whatever its token says);
 * and every token still needs its session's private key (peer and tracker
 * proofs). What the grace does delay is an entitlement that lapses during the
 * outage (a subscription expiring, a user deleted): at most `graceMs` after the
 * outage began. Past the grace the service stops rather than run unchecked.
 */
import type { Clock } from './clock.js';
import { DEFAULTS } from './config.js';

export interface OutageView {
  /** When a token that expires at `expMs` stops being honored (epoch ms): `expMs` itself unless an outage extends it. */
  honoredUntil(expMs: number): number;
  /** The last contact before the outage (tokens that expired before it are not honored); null when there is none. */
  readonly since: number | null;
}

export class ControlOutage implements OutageView {
  private lastContact: number | null = null;
  private downSince: number | null = null;
  private recoveredAt: number | null = null;

  constructor(
    private readonly clock: Clock,
    readonly graceMs: number = DEFAULTS.controlOutageGraceMs,
    readonly settleMs: number = DEFAULTS.controlOutageSettleMs,
  ) {}

  /** The control server answered (a renewal went through, the link got its welcome). */
  contact(): void {
    const now = this.clock.now();
    this.lastContact = now;
    if (this.downSince !== null && this.recoveredAt === null) this.recoveredAt = now;
  }

  /**
   * The control server could not be reached. The outage counts from the last
   * contact (or `atMs`, for a link that was up until now); a second call while
   * it lasts changes nothing, and one during the settling keeps the first start.
   */
  unreachable(atMs?: number): void {
    this.settle();
    if (this.downSince === null) this.downSince = atMs ?? this.lastContact ?? this.clock.now();
    this.recoveredAt = null;
  }

  get since(): number | null {
    this.settle();
    return this.downSince;
  }

  /** Whether tokens are being honored past their expiry now. */
  get active(): boolean {
    return this.since !== null;
  }

  honoredUntil(expMs: number): number {
    const since = this.since;
    if (since === null || expMs < since) return expMs;
    let end = since + this.graceMs;
    if (this.recoveredAt !== null) end = Math.min(end, this.recoveredAt + this.settleMs);
    return Math.max(expMs, end);
  }

  /** Forgets an outage whose settling time is over. */
  private settle(): void {
    if (this.recoveredAt !== null && this.clock.now() >= this.recoveredAt + this.settleMs) {
      this.downSince = null;
      this.recoveredAt = null;
    }
  }
}

/** No outage is ever assumed: tokens are honored until they expire. */
export const STRICT_EXPIRY: OutageView = { honoredUntil: (expMs) => expMs, since: null };
