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
 *
 * With several trackers this is each tracker's cache of the revocation list
 * they share (a RevocationStore, core/ports.ts): `revoke` shares what this
 * tracker decided, `learn` takes in what another one shared. Every check on
 * the announce path reads the cache only, with no round trip.
 */
import { DEFAULTS } from '../core/config.js';
import { STRICT_EXPIRY, type OutageView } from '../core/outage.js';
import type { RevocationRecord } from '../core/ports.js';

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

export interface RevokeScope {
  program?: string | null;
  until?: number;
  reason?: string;
  /** False: this tracker's alone (a welcome's list, which every tracker gets): not handed to `share`. */
  share?: boolean;
}

/** How long a shared store keeps a revocation: as long as a tracker's cache would (the retention, or its `until` if later). */
export function keepUntil(e: { at: number; until: number }): number {
  return Math.max(e.at + REVOCATION_RETENTION_MS, e.until);
}

export class Revocations {
  /**
   * `outage`: while the control server is unreachable, tokens live past their expiry, and so do their revocations.
   * `share`: where revocations this tracker makes go for the other trackers (RevocationStore.share).
   */
  constructor(
    private readonly outage: OutageView = STRICT_EXPIRY,
    private readonly share: (r: RevocationRecord) => void = () => undefined,
  ) {}

  private readonly revoked = new Map<string, Entry>();
  /** The entries still listed to peers (until in the future at the last prune), in revocation order: a few minutes' worth. */
  private readonly listed = new Map<string, Entry>();

  /** `ref`: the control server's disconnect id, echoed in the leave that answers it. */
  revoke(sid: string, at: number, ref: string | null = null, scope: RevokeScope = {}): void {
    const entry = this.merge(sid, at, ref, scope.reason ?? null, scope.program ?? null, scope.until ?? validUntil(at), true);
    if (scope.share !== false) this.share({ sid, ...entry, keepUntil: keepUntil(entry) });
  }

  /**
   * A revocation another tracker shared (or this one's, coming back): merged, not shared again. True if it is
   * news here: `sid` was not revoked, or its program was unknown and `r` names it.
   */
  learn(r: RevocationRecord): boolean {
    const prev = this.revoked.get(r.sid);
    // One already known keeps its place in the listing order: a reload hands every revocation in again.
    this.merge(r.sid, r.at, r.ref, r.reason, r.program, r.until, prev === undefined);
    return prev === undefined || (prev.program === null && r.program !== null);
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

  /** `newest`: listed as the newest revocation (moved to the end of the listing order). */
  private merge(sid: string, at: number, ref: string | null, reason: string | null, program: string | null, until: number, newest: boolean): Entry {
    const prev = this.revoked.get(sid);
    const entry: Entry = {
      at: Math.min(prev?.at ?? at, at),
      ref: ref ?? prev?.ref ?? null,
      reason: reason ?? prev?.reason ?? null,
      program: program ?? prev?.program ?? null,
      until: Math.max(prev?.until ?? 0, until),
    };
    this.revoked.set(sid, entry);
    // Re-inserted, so the listed ones stay in revocation order (newest last) for list().
    if (newest) this.listed.delete(sid);
    this.listed.set(sid, entry);
    return entry;
  }

  prune(now: number): void {
    const over = (until: number): boolean => this.outage.honoredUntil(until) <= now;
    for (const [sid, r] of this.listed) if (over(r.until)) this.listed.delete(sid);
    for (const [sid, r] of this.revoked) if (now - r.at > REVOCATION_RETENTION_MS && over(r.until)) this.revoked.delete(sid);
  }
}
