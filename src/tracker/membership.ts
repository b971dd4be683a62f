/**
 * Joining and leaving the swarm, in one place: the store write, the session
 * registry, the program binding's release, and the report to the control
 * server (join on a session's first accepted announce, leave when it goes).
 */
import type { Clock } from '../core/clock.js';
import type { SwarmPeer, SwarmStore } from '../core/ports.js';
import type { Revocations } from './revocations.js';
import type { SessionRegistry } from './session-registry.js';
import type { SwarmPrograms } from './swarm-programs.js';
import type { LeaveReason, SessionReporter, TrackedSession } from './types.js';

export function swarmPeerOf(s: TrackedSession): SwarmPeer {
  return { sid: s.sid, user: s.user, peerId: s.peerId, ip: s.ip, port: s.port, role: s.role, lastSeen: s.lastSeen };
}

export class Membership {
  constructor(
    private readonly deps: {
      store: SwarmStore;
      registry: SessionRegistry;
      programs: SwarmPrograms;
      revocations: Revocations;
      reporter: SessionReporter;
      clock: Clock;
      /** Told as soon as a session is out of the registry (ends its disconnect's resends). */
      onLeft?: (sid: string) => void;
      /** Told when a session left by its own `stopped` (it is then refused everywhere, as a kick is). */
      onStopped?: (session: TrackedSession) => void;
      /** A leaving session's peer could not be removed from the store (shared store unreachable): it expires there. */
      onRemoveFailed?: (sid: string, err: unknown) => void;
    },
  ) {}

  /**
   * Adds or refreshes a session's peer; reports a join the first time, and
   * again when it comes back on a new channel while we still held it: it may
   * have moved to another tracker meanwhile (its channel here broke) and come
   * back before we timed it out, and the control server, holding it on that
   * other tracker, would send its kicks there (a repeated join is a no-op).
   */
  async upsert(session: TrackedSession): Promise<void> {
    const { store, registry, reporter } = this.deps;
    const old = registry.set(session);
    if (old && old.infoHash !== session.infoHash) await this.dropFromSwarm(old.infoHash, old.sid);
    await store.put(session.infoHash, swarmPeerOf(session));
    const newChannel = old !== undefined && session.channel !== null && old.channel !== session.channel;
    if (!old || newChannel) reporter.join({ sid: session.sid, ip: session.ip, port: session.port, at: session.lastSeen });
  }

  /** Records a sign of life (heartbeat). */
  async touch(session: TrackedSession): Promise<void> {
    session.lastSeen = this.deps.clock.now();
    await this.deps.store.put(session.infoHash, swarmPeerOf(session));
  }

  /**
   * Removes the session and reports its leave (step D), echoing the control
   * server's disconnect id when there was one. False if it was not here.
   * The report does not wait on the store: with a shared store unreachable
   * (Redis cut) the peer stays listed there until it goes stale, but nobody is
   * listed anything meanwhile, and the leave (a kick's step D) must still
   * reach the control server, which would otherwise never complete the kick.
   */
  async leave(sid: string, reason: LeaveReason, ref: string | null = null): Promise<boolean> {
    const session = this.deps.registry.delete(sid);
    if (!session) return false;
    this.deps.onLeft?.(sid);
    if (reason === 'stopped') this.deps.onStopped?.(session);
    try {
      await this.dropFromSwarm(session.infoHash, sid);
    } catch (err) {
      this.deps.onRemoveFailed?.(sid, err);
    }
    const echo = ref ?? this.deps.revocations.ref(sid);
    this.deps.reporter.leave({ sid, reason, ...(echo ? { ref: echo } : {}), at: this.deps.clock.now() });
    return true;
  }

  private async dropFromSwarm(infoHash: string, sid: string): Promise<void> {
    await this.deps.store.remove(infoHash, sid);
    if (this.deps.registry.swarmSize(infoHash) === 0) this.deps.programs.released(infoHash);
  }
}
