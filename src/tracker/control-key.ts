/**
 * The control server's token key, as last received in the link's `welcome`.
 * Until the first welcome there is none, and the tracker admits no one.
 */
import { createTokenVerifier, outageTolerant, type TokenVerifier } from '../protocol/token.js';
import { STRICT_EXPIRY, type OutageView } from '../core/outage.js';
import { ClientError } from '../core/errors.js';

export class ControlKey {
  private current: { key: string; verifier: TokenVerifier } | null = null;

  /** `outage`: while the control server is unreachable, tokens valid at the last contact stay acceptable (core/outage.ts). */
  constructor(private readonly outage: OutageView = STRICT_EXPIRY) {}

  async set(key: string): Promise<void> {
    if (this.current?.key === key) return;
    this.current = { key, verifier: outageTolerant(await createTokenVerifier(key), this.outage) };
  }

  get ready(): boolean {
    return this.current !== null;
  }

  /** The verifier, or the failure a client gets while the tracker has no key. */
  verifier(): TokenVerifier {
    if (!this.current) throw new ClientError('token_invalid', 'tracker not ready: no control link yet');
    return this.current.verifier;
  }
}
