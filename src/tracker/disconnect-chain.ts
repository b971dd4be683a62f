/**
 * The tracker's part of ending a session (steps B and D, and the enforcement
 * that needs no cooperation). On the control server's disconnect (already
 * acked by the link) the tracker:
 *  - revokes the sid at once: its announces are refused, its heartbeats no
 *    longer keep it alive, it is never listed again, and every `peers`
 *    answer of its program names it while its token may be valid;
 *  - pushes `revoked` to every other channel of its swarm (acked, retried);
 *  - sends the client `disconnect` and resends it every retry period until the
 *    session leaves the swarm, which its `stopped` (step C) or the heartbeat
 *    timeout brings about. The client's ack of the disconnect is not an
 *    answer: only leaving is.
 * The leave itself (step D, with the disconnect's id as `ref`) is the
 * membership's; this chain hears of it through `settled`.
 *
 * Idempotent: a disconnect id seen before is not processed again (the link
 * acks every copy). A disconnect for a session this tracker does not hold
 * (gone already, or held by the tracker before a restart) is answered with a
 * leave at once, so the control server can complete.
 *
 * With trackers sharing a revocation store (core/ports.ts RevocationStore),
 * the revocation is shared too, and each other tracker hears of it through
 * `revokedElsewhere`: it does for its own clients what it would have done had
 * the disconnect come to it (refuses the sid, pushes `revoked` to the
 * program's peers, lists it to newcomers, and ends the session if it holds it).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { RevocationRecord } from '../core/ports.js';
import type { ChannelPushes } from './channel-pushes.js';
import { validUntil, type Revocations } from './revocations.js';
import type { SessionRegistry } from './session-registry.js';
import type { LeaveReason, PushAnswers, SessionReporter, TrackedSession } from './types.js';

/** Disconnect ids remembered for spotting duplicates; old ones are forgotten first. */
export const SEEN_DISCONNECTS_MAX = 10_000;

export interface DisconnectChainDeps {
  registry: SessionRegistry;
  revocations: Revocations;
  reporter: SessionReporter;
  pushes: ChannelPushes;
  clock: Clock;
  /** Resend period of the disconnect to the client. */
  retryMs: number;
  /** Takes a session out of the swarm and reports its leave (the membership's). */
  leave: (sid: string, reason: LeaveReason, ref: string) => Promise<boolean>;
  logger: Logger;
}

interface Pending {
  id: string;
  reason: string;
  timer: TimerHandle | null;
}

export class DisconnectChain implements PushAnswers {
  /** By sid: the disconnect being resent to that client. */
  private readonly pending = new Map<string, Pending>();
  /** Disconnect id → sid, for duplicates and for `stopped` arriving on an unbound channel. */
  private readonly seen = new Map<string, string>();

  constructor(private readonly deps: DisconnectChainDeps) {}

  /** Step A arrived (any number of times for the same id). */
  disconnect(sid: string, reason: string, id: string): void {
    this.start(sid, reason, id, true);
  }

  /**
   * Another tracker revoked `r.sid` (the shared store's news; this tracker's
   * cache has learned it already). A session held here is ended as if the
   * disconnect had come here (a kick) or dropped by its peers (a stop); for
   * one held elsewhere, this tracker's clients of its program drop it.
   */
  revokedElsewhere(r: RevocationRecord): void {
    const { registry } = this.deps;
    const session = registry.get(r.sid);
    if (session && r.ref !== null && r.reason !== null) {
      // Shared again only when the revoking tracker did not know the program: the others can then tell their clients.
      this.start(r.sid, r.reason, r.ref, r.program === null);
      return;
    }
    if (session) {
      this.pushRevoked(session);
      return;
    }
    if (r.program === null) return;
    const peers: TrackedSession[] = [];
    for (const s of registry.all()) if (s.program === r.program) peers.push(s);
    this.pushTo(r.sid, peers);
  }

  /** `share`: false when the revocation came from the shared store already. */
  private start(sid: string, reason: string, id: string, share: boolean): void {
    if (this.seen.has(id)) return;
    this.remember(id, sid);
    const { registry, revocations, clock, reporter } = this.deps;
    const now = clock.now();
    const session = registry.get(sid);
    // Listed to the program's peers while a token of it may be valid (a session this tracker never saw: to every program).
    revocations.revoke(sid, now, id, session ? { program: session.program, until: validUntil(now, session), reason, share } : { reason, share });
    if (!session) {
      reporter.leave({ sid, reason: 'revoked', ref: id, at: now });
      return;
    }
    const prev = this.pending.get(sid);
    // A second disconnect for the same session (a new id) replaces the first; peers were told already.
    if (prev) prev.timer?.cancel();
    else this.pushRevoked(session);
    if (session.transport === 'http') {
      // A stock client has no channel to hear a disconnect on: refused from now on, it is gone now.
      this.deps.leave(sid, 'revoked', id).catch((err: unknown) => this.deps.logger.error({ err, sid }, 'leaving a revoked session failed'));
      return;
    }
    this.pending.set(sid, { id, reason, timer: null });
    this.send(sid);
  }

  /**
   * A gatecast session said `stopped`: its session is over (the control server
   * ends it), so it is revoked like a kicked one, pushed to the program's
   * peers and listed to newcomers. Otherwise a modified client that keeps its
   * peer connections would be served until its token expires, and could sit
   * outside the concurrent-session limit meanwhile. A stock HTTP client's stop
   * is not: it may resume with the same token, and it gets no pieces anyway
   * (the peer wire wants a channel key).
   */
  stopped(session: TrackedSession): void {
    const { revocations, clock } = this.deps;
    if (session.transport !== 'ws' || revocations.has(session.sid)) return;
    const now = clock.now();
    revocations.revoke(session.sid, now, null, { program: session.program, until: validUntil(now, session) });
    this.pushRevoked(session);
  }

  /** The session left the swarm (stopped, timed out, ...): nothing more to tell it. */
  settled(sid: string): void {
    this.pending.get(sid)?.timer?.cancel();
    this.pending.delete(sid);
  }

  acked(channel: Parameters<PushAnswers['acked']>[0], id: string): void {
    // Acks of `disconnect` land here too and change nothing: only `stopped` answers a disconnect.
    this.deps.pushes.acked(channel, id);
  }

  sidOf(disconnectId: string): string | undefined {
    const sid = this.seen.get(disconnectId);
    return sid !== undefined && this.deps.registry.get(sid) ? sid : undefined;
  }

  /** Disconnects still being resent to their clients. */
  get size(): number {
    return this.pending.size;
  }

  close(): void {
    for (const p of this.pending.values()) p.timer?.cancel();
    this.pending.clear();
  }

  private send(sid: string): void {
    const p = this.pending.get(sid);
    if (!p) return;
    // The channel is looked up each time: it may have closed (then only the timeout ends the session).
    this.deps.registry.get(sid)?.channel?.send({ type: 'disconnect', id: p.id, reason: p.reason });
    p.timer = this.deps.clock.setTimeout(() => this.send(sid), this.deps.retryMs);
  }

  /** Enforcement: every other peer of the swarm that can hear it drops and refuses the session. */
  private pushRevoked(session: TrackedSession): void {
    this.pushTo(session.sid, this.deps.registry.inSwarm(session.infoHash));
  }

  private pushTo(sid: string, peers: Iterable<TrackedSession>): void {
    const { registry, pushes } = this.deps;
    const id = randomUUID();
    for (const peer of peers) {
      const channel = peer.channel;
      if (peer.sid === sid || !channel) continue;
      const recipient = peer.sid;
      pushes.push(channel, { type: 'revoked', id, sid }, () => registry.get(recipient) !== undefined);
    }
  }

  private remember(id: string, sid: string): void {
    this.seen.set(id, sid);
    if (this.seen.size > SEEN_DISCONNECTS_MAX) {
      const oldest = this.seen.keys().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
  }
}
