/**
 * Revoked sessions. A revoked sid is refused at every announce and heartbeat
 * and is never listed to other peers, whatever its token says. Entries are
 * kept long enough to outlive any token issued before the revocation, then
 * forgotten so the set does not grow without bound.
 */
export const REVOCATION_RETENTION_MS = 24 * 60 * 60 * 1000;

export class Revocations {
  private readonly revoked = new Map<string, { at: number; ref: string | null }>();

  /** `ref`: the control server's disconnect id, echoed in the leave that answers it. */
  revoke(sid: string, at: number, ref: string | null = null): void {
    const prev = this.revoked.get(sid);
    this.revoked.set(sid, { at: prev?.at ?? at, ref: ref ?? prev?.ref ?? null });
  }

  has(sid: string): boolean {
    return this.revoked.has(sid);
  }

  ref(sid: string): string | null {
    return this.revoked.get(sid)?.ref ?? null;
  }

  get size(): number {
    return this.revoked.size;
  }

  prune(now: number): void {
    for (const [sid, r] of this.revoked) if (now - r.at > REVOCATION_RETENTION_MS) this.revoked.delete(sid);
  }
}
