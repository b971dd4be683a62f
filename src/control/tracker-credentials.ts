/**
 * Trackers' credentials on the control link (issue 12). A tracker presents
 * `Authorization: Bearer ID.SECRET`; the control server keeps only
 * sha256(SECRET) per tracker id (ControlStore.createTrackerCredential) and a
 * link so authenticated may only say hello as ID. The shared tracker secret
 * (GATECAST_TRACKER_SECRET, any id) still works unless the control server
 * turns it off: the simple mode, for one tracker or a demo.
 *
 * SECRET is `gct_` and 43 base64url characters (no dot), so a credential is
 * told from a shared secret by its form and split at its last dot: tracker
 * ids (host:port by default) may hold dots.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { ControlStore, TrackerCredential } from '../core/ports.js';
import { parseTrackerCredential } from '../protocol/control-link.js';

export { CREDENTIAL_MISMATCH_CLOSE, CREDENTIAL_REVOKED_CLOSE, isTrackerId, parseTrackerCredential, TRACKER_ID_PATTERN } from '../protocol/control-link.js';

/** Answers a refused WebSocket upgrade and closes the socket. */
export function rejectUpgrade(socket: Duplex, status: 401 | 404 | 429 | 503, reason: string, retryAfterS?: number): void {
  const extra = status === 401 ? 'WWW-Authenticate: Bearer\r\n' : status === 429 ? `Retry-After: ${retryAfterS ?? 1}\r\n` : '';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\n${extra}Connection: close\r\nContent-Length: 0\r\n\r\n`);
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** A new credential for tracker `id`: the record to store and `ID.SECRET`, to show once. */
export function newTrackerCredential(id: string, now: number): { record: TrackerCredential; credential: string } {
  const secret = `gct_${randomBytes(32).toString('base64url')}`;
  return { record: { id, secretHash: sha256(secret).toString('hex'), createdAt: now, revokedAt: null }, credential: `${id}.${secret}` };
}

export type TrackerAuth =
  /** The shared secret: the hello may claim any tracker id. */
  | { kind: 'shared' }
  /** A tracker's own credential: the hello must claim `id`. */
  | { kind: 'credential'; id: string }
  | { kind: 'refused'; why: string };

/** A hash no secret has, compared against when the id is unknown, so an unknown id takes as long as a wrong secret. */
const NO_HASH = Buffer.alloc(32, 0);

export class TrackerAuthenticator {
  private readonly sharedDigest: Buffer | null;

  /** `sharedSecret`: null when the control server takes trackers' own credentials only. */
  constructor(
    private readonly store: Pick<ControlStore, 'getTrackerCredential'>,
    sharedSecret: string | null,
  ) {
    this.sharedDigest = sharedSecret === null ? null : sha256(sharedSecret);
  }

  get sharedSecretEnabled(): boolean {
    return this.sharedDigest !== null;
  }

  /** Checks an Authorization header's value; a store failure rejects (the caller answers 503, not 401). */
  async check(authorization: string | undefined): Promise<TrackerAuth> {
    const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
    const bearer = m?.[1]?.trim();
    if (!bearer) return { kind: 'refused', why: 'no bearer credential' };
    const digest = sha256(bearer);
    if (this.sharedDigest && timingSafeEqual(digest, this.sharedDigest)) return { kind: 'shared' };
    const parsed = parseTrackerCredential(bearer);
    if (!parsed) return { kind: 'refused', why: this.sharedDigest ? 'wrong tracker secret' : 'not a tracker credential (the shared tracker secret is off)' };
    return this.verify(parsed.id, parsed.secret);
  }

  /** Whether the credential of tracker `id` is still valid (a live link is closed when it is not). */
  async valid(id: string): Promise<boolean> {
    const c = await this.store.getTrackerCredential(id);
    return c !== undefined && c.revokedAt === null;
  }

  private async verify(id: string, secret: string): Promise<TrackerAuth> {
    const c = await this.store.getTrackerCredential(id);
    const stored = c && /^[0-9a-f]{64}$/.test(c.secretHash) ? Buffer.from(c.secretHash, 'hex') : NO_HASH;
    const match = timingSafeEqual(sha256(secret), stored);
    if (!c) return { kind: 'refused', why: `no credential for tracker ${id}` };
    if (!match) return { kind: 'refused', why: `wrong secret for tracker ${id}` };
    if (c.revokedAt !== null) return { kind: 'refused', why: `the credential of tracker ${id} is revoked` };
    return { kind: 'credential', id };
  }
}
