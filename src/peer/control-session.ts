/**
 * The viewer's session with the control server after admission: holds the
 * current access token and renews it before it expires, proving possession of
 * the session's client key. A refused renewal means the operator ended the
 * session or the subscription lapsed: the viewer must stop. A renewal that
 * cannot reach the server is not an end: it is retried until the server is
 * back, however long past the token's expiry, while `outage` lets the peers'
 * tokens be honored (core/outage.ts).
 */
import { EventEmitter } from 'node:events';
import { sign, type KeyObject } from 'node:crypto';
import type { Clock, TimerHandle } from '../core/clock.js';
import { ClientError } from '../core/errors.js';
import { DEFAULTS } from '../core/config.js';
import type { ControlOutage } from '../core/outage.js';
import { renewMessage } from '../protocol/control-api.js';

/** A renewal that could not reach the control server is tried again this soon. */
export const RENEW_RETRY_MS = 2_000;

export type RenewFn = (sid: string, ts: number, sig: string) => Promise<{ token: string; token_expires_at: number }>;

export interface ControlSessionEvents {
  renewed: [string];
  /** Renewal refused for good (session ended, subscription lapsed). */
  ended: [ClientError];
  /** A renewal attempt failed for a reason that may pass (network); it is retried. */
  warning: [Error];
}

export function renewProof(clientKey: KeyObject, sid: string, ts: number): string {
  return sign(null, renewMessage(sid, ts), clientKey).toString('base64url');
}

export class ControlSession extends EventEmitter<ControlSessionEvents> {
  private timer: TimerHandle | null = null;
  private stopped = false;

  constructor(
    readonly sid: string,
    private currentToken: string,
    private expiresAt: number,
    private readonly deps: {
      clientKey: KeyObject;
      clock: Clock;
      renew: RenewFn;
      renewAt?: number;
      /** Told of every renewal that went through and every one that could not reach the server. */
      outage?: ControlOutage;
      /** Wait before retrying a renewal that could not reach the server. */
      retryMs?: number;
    },
  ) {
    super();
    deps.outage?.contact();
  }

  get token(): string {
    return this.currentToken;
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  private schedule(retryMs?: number): void {
    if (this.stopped) return;
    const now = this.deps.clock.now();
    const share = this.deps.renewAt ?? DEFAULTS.tokenRenewAt;
    const life = Math.max(0, this.expiresAt - now);
    const wait = retryMs ?? Math.max(1_000, Math.floor(life * share));
    this.timer = this.deps.clock.setTimeout(() => void this.renewNow(), wait);
  }

  async renewNow(): Promise<void> {
    if (this.stopped) return;
    const ts = this.deps.clock.now();
    try {
      const r = await this.deps.renew(this.sid, ts, renewProof(this.deps.clientKey, this.sid, ts));
      this.deps.outage?.contact();
      this.currentToken = r.token;
      this.expiresAt = r.token_expires_at;
      this.emit('renewed', r.token);
      this.schedule();
    } catch (err) {
      if (err instanceof ClientError) {
        this.stopped = true;
        this.emit('ended', err);
        return;
      }
      // The server is down or unreachable: play on with what we have (peers and tracker honor tokens that were
      // valid at our last contact, core/outage.ts) and keep trying.
      this.deps.outage?.unreachable();
      this.emit('warning', err instanceof Error ? err : new Error(String(err)));
      this.schedule(this.deps.retryMs ?? RENEW_RETRY_MS);
    }
  }
}
