/**
 * The one logic object both front ends call (chihaya's TrackerLogic): an
 * announce runs the pre-hooks in order (the first error stops it and becomes
 * the client's answer), then the post-hooks; heartbeats, `stopped` and the
 * expiry sweep go through the same membership.
 */
import type { Clock } from '../core/clock.js';
import type { OutageView } from '../core/outage.js';
import { ClientError, InternalError } from '../core/errors.js';
import type { SwarmStore } from '../core/ports.js';
import type { ScrapeRequest } from '../protocol/announce.js';
import type { Qoe } from '../protocol/qoe.js';
import type { ChannelHolds } from './channel-holds.js';
import type { ControlKey } from './control-key.js';
import type { Membership } from './membership.js';
import type { Revocations } from './revocations.js';
import type { SessionRegistry } from './session-registry.js';
import type { SwarmPrograms } from './swarm-programs.js';
import type { AnnounceContext, AnnounceOutcome, ChannelHandle, PostHook, PreHook, PushAnswers } from './types.js';

export interface ScrapeFile {
  infoHash: string;
  complete: number;
  incomplete: number;
  downloaded: number;
}

export class TrackerLogic {
  constructor(
    private readonly deps: {
      preHooks: PreHook[];
      postHooks: PostHook[];
      membership: Membership;
      registry: SessionRegistry;
      revocations: Revocations;
      holds: ChannelHolds;
      programs: SwarmPrograms;
      store: SwarmStore;
      key: ControlKey;
      outage: OutageView;
      clock: Clock;
      answers: PushAnswers;
      /** Where heartbeats' QoE reports go (qoe-relay.ts); none: they are ignored. */
      qoe?: { report(sid: string, qoe: Qoe): unknown };
    },
  ) {}

  /**
   * The kick that revoked `sid`, for a refused announce of it on a channel
   * that proved its key: the client hears its disconnect again (it ends as
   * kicked, step C) rather than a bare refusal. A kicked client meets this
   * when it comes back after a tracker restart or a lost channel.
   */
  kickOf(sid: string): { ref: string; reason: string } | null {
    // A session still held is being sent its disconnect by the chain already (retried until it stops).
    if (this.deps.registry.get(sid)) return null;
    return this.deps.revocations.kickOf(sid);
  }

  /** The client key of a session this tracker holds (what its channel proved), for the peers answer. */
  clientKeyOf(sid: string): string | undefined {
    return this.deps.registry.get(sid)?.clientKey;
  }

  async announce(ctx: AnnounceContext): Promise<AnnounceOutcome> {
    for (const hook of this.deps.preHooks) await hook(ctx);
    const { claims, response } = ctx;
    if (!claims || !response) throw new InternalError('announce pre-hooks left no claims or response');
    for (const hook of this.deps.postHooks) await hook({ ...ctx, claims });
    return response;
  }

  /**
   * A channel's heartbeat (the channel is bound to `sid`: it proved the key);
   * `token`, when given, is the session's renewed token: same session, same
   * client key. `qoe`: the client's figures, kept once the heartbeat is accepted.
   */
  async heartbeat(sid: string, token: string | null, qoe: Qoe | null = null): Promise<void> {
    const { registry, revocations, key, clock, membership, holds } = this.deps;
    if (revocations.has(sid)) throw new ClientError('token_revoked', 'session revoked');
    const session = registry.get(sid);
    if (!session) throw new ClientError('unknown_session', 'this session is not in the swarm; announce again');
    if (token !== null) {
      const claims = await key.verifier().verify(token, { nowMs: clock.now() });
      if (claims.sid !== sid) throw new ClientError('conflict', 'renewed token is for another session');
      if (claims.prg !== session.program) throw new ClientError('token_wrong_program', 'access token is for another program');
      if (claims.ckey !== session.clientKey) throw new ClientError('conflict', 'renewed token names another client key');
      session.tokenExpiresAt = Math.max(session.tokenExpiresAt, claims.exp * 1000);
      if (session.transport === 'ws') holds.hold(sid, session.tokenExpiresAt);
    }
    await membership.touch(session);
    // Not for a session that left while the store was written: its report was already dropped.
    if (qoe !== null && registry.get(sid) === session) this.deps.qoe?.report(sid, qoe);
  }

  /**
   * Step C → D: the client said it is leaving. `sid` is the channel's session;
   * on a channel not bound to one (a revoked client that reconnected: its
   * announces are refused), `ref` names the session through its disconnect.
   * The unbound channel must have proved that session's key (`proven`, the
   * session of its last proof that checked out): a token alone stops nothing.
   */
  async stopped(sid: string | null, ref: string | null, proven: string | null): Promise<boolean> {
    const who = sid ?? (ref === null ? undefined : this.deps.answers.sidOf(ref));
    if (who === undefined || (sid === null && who !== proven)) return false;
    return this.deps.membership.leave(who, 'stopped', ref);
  }

  /** A client acked a push on its channel. */
  pushAcked(channel: ChannelHandle, id: string): void {
    this.deps.answers.acked(channel, id);
  }

  /** The channel closed: the session stays until its heartbeat timeout, but nothing can be pushed to it. */
  channelClosed(sid: string, channel: ChannelHandle): void {
    const session = this.deps.registry.get(sid);
    if (session?.channel === channel) session.channel = null;
  }

  /** Step D without the client's word: silent past its timeout, or its token ran out unrenewed. */
  async sweep(): Promise<void> {
    const now = this.deps.clock.now();
    const due: Array<{ sid: string; reason: 'timeout' | 'expired' }> = [];
    for (const s of this.deps.registry.all()) {
      if (now - s.lastSeen > s.timeoutMs) due.push({ sid: s.sid, reason: 'timeout' });
      // During a control outage a token is honored past its expiry (core/outage.ts): its client cannot renew.
      else if (this.deps.outage.honoredUntil(s.tokenExpiresAt) <= now) due.push({ sid: s.sid, reason: 'expired' });
    }
    this.deps.revocations.prune(now);
    this.deps.holds.prune(now);
    await Promise.all(due.map((d) => this.deps.membership.leave(d.sid, d.reason)));
  }

  /**
   * The tracker was stalled `ms` (expiry.ts saw its sweep that late): that
   * time does not count against anyone's heartbeat timeout, since their
   * heartbeats sat unread in the tracker's sockets. Token expiry is not
   * credited: it is absolute, and the renewals queued meanwhile are read
   * before the next sweep.
   */
  creditStall(ms: number): void {
    const now = this.deps.clock.now();
    for (const s of this.deps.registry.all()) s.lastSeen = Math.min(now, s.lastSeen + ms);
  }

  /** Counts for the hashes that belong to the token's program; others are left out. */
  async scrape(req: ScrapeRequest): Promise<ScrapeFile[]> {
    if (!req.token) throw new ClientError('token_missing', 'access token is required');
    const claims = await this.deps.key.verifier().verify(req.token, { nowMs: this.deps.clock.now() });
    const files: ScrapeFile[] = [];
    for (const infoHash of req.infoHashes) {
      if (this.deps.programs.programOf(infoHash) !== claims.prg) continue;
      const { seeders, leechers } = await this.deps.store.count(infoHash);
      files.push({ infoHash, complete: seeders, incomplete: leechers, downloaded: 0 });
    }
    return files;
  }

  /** Removes sessions of other programs from a swarm a source has just claimed. */
  async evictOthers(infoHash: string, program: string): Promise<void> {
    for (const s of this.deps.registry.inSwarm(infoHash)) {
      if (s.program !== program) await this.deps.membership.leave(s.sid, 'evicted');
    }
  }
}
