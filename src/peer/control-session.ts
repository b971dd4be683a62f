/**
 * The viewer's session with the control server after admission: holds the
 * current access token and renews it before it expires, proving possession of
 * the session's client key. A refused renewal means the operator ended the
 * session or the subscription lapsed: the viewer must stop.
 */
import { EventEmitter } from 'node:events';
import { sign, type KeyObject } from 'node:crypto';
import type { Clock, TimerHandle } from '../core/clock.js';
import { ClientError } from '../core/errors.js';
import { DEFAULTS } from '../core/config.js';
import { renewMessage } from '../protocol/control-api.js';

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
    private readonly deps: { clientKey: KeyObject; clock: Clock; renew: RenewFn; renewAt?: number },
  ) {
    super();
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
      this.emit('warning', err instanceof Error ? err : new Error(String(err)));
      this.schedule(2_000);
    }
  }
}
