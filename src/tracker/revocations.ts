/**
 * Revoked sessions. A revoked sid is refused at every announce and heartbeat
 * and is never listed to other peers, whatever its token says. Entries are
 * kept long enough to outlive any token issued before the revocation, then
 * forgotten so the set does not grow without bound.
 *
 * The recent ones are also handed to every peer of the program in each
 * `peers` answer, so a peer that joins after a kick refuses the kicked
 * session too: a sid is listed while a token of it could still be valid
 * (`until`), and only to its program's peers when its program is known.
 */
import { DEFAULTS } from '../core/config.js';
import { STRICT_EXPIRY, type OutageView } from '../core/outage.js';

export const REVOCATION_RETENTION_MS = 24 * 60 * 60 * 1000;
/** Clock skew allowed between the control server, which stamps tokens, and the tracker. */
export const TOKEN_SKEW_MS = 60_000;

interface Entry {
  at: number;
  ref: string | null;
  /** The disconnect's reason, when the revocation is a kick. */
  reason: string | null;
  /** Null when the tracker never saw the session (a welcome's list, a session held elsewhere): listed to every program. */
  program: string | null;
  /** Listed to peers until then: past it, no token of the session is valid. */
  until: number;
}

/**
 * How long a session revoked at `now` may still hold a valid token: its last
 * token was issued no later than now, so it dies one token lifetime later
 * (the lifetime read off a token the tracker saw, else the default).
 */
export function validUntil(now: number, seen?: { tokenExpiresAt: number; tokenLifetimeMs: number }): number {
  const lifetime = seen?.tokenLifetimeMs ?? DEFAULTS.tokenTtlS * 1000;
  return Math.max(seen?.tokenExpiresAt ?? 0, now + lifetime) + TOKEN_SKEW_MS;
}

export class Revocations {
  /** `outage`: while the control server is unreachable, tokens live past their expiry, and so do their revocations. */
  constructor(private readonly outage: OutageView = STRICT_EXPIRY) {}

  private readonly revoked = new Map<string, Entry>();
  /** The entries still listed to peers (until in the future at the last prune), in revocation order: a few minutes' worth. */
  private readonly listed = new Map<string, Entry>();

  /** `ref`: the control server's disconnect id, echoed in the leave that answers it. */
  revoke(sid: string, at: number, ref: string | null = null, scope: { program?: string | null; until?: number; reason?: string } = {}): void {
    const prev = this.revoked.get(sid);
    const entry: Entry = {
      at: prev?.at ?? at,
      ref: ref ?? prev?.ref ?? null,
      reason: scope.reason ?? prev?.reason ?? null,
      program: scope.program ?? prev?.program ?? null,
      until: Math.max(prev?.until ?? 0, scope.until ?? validUntil(at)),
    };
    this.revoked.set(sid, entry);
    // Re-inserted, so the listed ones stay in revocation order (newest last) for list().
    this.listed.delete(sid);
    this.listed.set(sid, entry);
  }

  has(sid: string): boolean {
    return this.revoked.has(sid);
  }

  ref(sid: string): string | null {
    return this.revoked.get(sid)?.ref ?? null;
  }

  /** The disconnect that revoked `sid` (its id and reason), when it was a kick. */
  kickOf(sid: string): { ref: string; reason: string } | null {
    const e = this.revoked.get(sid);
    return e?.ref && e.reason !== null ? { ref: e.ref, reason: e.reason } : null;
  }

  get size(): number {
    return this.revoked.size;
  }

  /** What a peer of `program` is told at `now`: newest first, at most `max`. */
  list(program: string, now: number, max: number = DEFAULTS.trackerRevokedListMax): string[] {
    const out: string[] = [];
    const entries = [...this.listed];
    for (let i = entries.length - 1; i >= 0 && out.length < max; i--) {
      const [sid, e] = entries[i] as [string, Entry];
      if (this.outage.honoredUntil(e.until) > now && (e.program === null || e.program === program)) out.push(sid);
    }
    return out;
  }

  prune(now: number): void {
    const over = (until: number): boolean => this.outage.honoredUntil(until) <= now;
    for (const [sid, r] of this.listed) if (over(r.until)) this.listed.delete(sid);
    for (const [sid, r] of this.revoked) if (now - r.at > REVOCATION_RETENTION_MS && over(r.until)) this.revoked.delete(sid);
  }
}
