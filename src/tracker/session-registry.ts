/**
 * The sessions this tracker serves, by sid and by swarm. The swarm store holds
 * what other peers are told; this registry holds what only the serving tracker
 * needs: the transport, the timeout, the held token's expiry and the channel.
 */
import type { TrackedSession } from './types.js';

export class SessionRegistry {
  private readonly bySid = new Map<string, TrackedSession>();
  private readonly bySwarm = new Map<string, Set<string>>();

  get(sid: string): TrackedSession | undefined {
    return this.bySid.get(sid);
  }

  /** Adds or replaces the session; returns the one it replaced, if any. */
  set(session: TrackedSession): TrackedSession | undefined {
    const old = this.bySid.get(session.sid);
    if (old && old.infoHash !== session.infoHash) this.unindex(old);
    this.bySid.set(session.sid, session);
    let sids = this.bySwarm.get(session.infoHash);
    if (!sids) {
      sids = new Set();
      this.bySwarm.set(session.infoHash, sids);
    }
    sids.add(session.sid);
    return old;
  }

  delete(sid: string): TrackedSession | undefined {
    const old = this.bySid.get(sid);
    if (!old) return undefined;
    this.bySid.delete(sid);
    this.unindex(old);
    return old;
  }

  inSwarm(infoHash: string): TrackedSession[] {
    const sids = this.bySwarm.get(infoHash);
    return sids ? [...sids].map((sid) => this.bySid.get(sid) as TrackedSession) : [];
  }

  swarmSize(infoHash: string): number {
    return this.bySwarm.get(infoHash)?.size ?? 0;
  }

  sids(): string[] {
    return [...this.bySid.keys()];
  }

  all(): IterableIterator<TrackedSession> {
    return this.bySid.values();
  }

  get size(): number {
    return this.bySid.size;
  }

  get swarms(): number {
    return this.bySwarm.size;
  }

  private unindex(session: TrackedSession): void {
    const sids = this.bySwarm.get(session.infoHash);
    if (!sids) return;
    sids.delete(session.sid);
    if (sids.size === 0) this.bySwarm.delete(session.infoHash);
  }
}
