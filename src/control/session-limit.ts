/**
 * The concurrent-session limit (account sharing): a user may hold at most N
 * open viewer sessions at once. N is the subscription's own limit for the
 * program being admitted, else the user's, else DEFAULTS.maxSessionsPerUser
 * (null: no limit). Policy `replace-oldest` (default) admits the new session
 * and ends the oldest ones through the disconnect chain (steps A–E) with the
 * reason "signed in on another device"; `refuse` turns the new one away with
 * too_many_sessions instead.
 */
import { DEFAULTS } from '../core/config.js';
import { ClientError } from '../core/errors.js';
import type { ControlStore } from '../core/ports.js';
import type { SessionRecord, Subscription, User } from '../core/types.js';

export const REASON_OTHER_DEVICE = 'signed in on another device';
/** Why a session admitted long ago that never joined a swarm is ended when it stands in the way (policy refuse). */
export const REASON_NEVER_JOINED = 'admitted but never joined a swarm';
export type OnLimit = 'replace-oldest' | 'refuse';

export interface SessionLimitDeps {
  store: ControlStore;
  /** Ends one session through the chain (DisconnectOrchestrator.kick). */
  kick: (sid: string, reason: string) => Promise<unknown>;
  onLimit?: OnLimit;
  /** Applies when neither the user nor the subscription sets one (default DEFAULTS.maxSessionsPerUser). */
  defaultMax?: number | null;
  /**
   * An `admitted` session older than this (a token lifetime plus clock skew)
   * that never joined holds no token it was not renewed to: a client that died
   * after admission. Under `refuse` it is ended rather than counted, or a
   * crashed `watch` would lock its user out for good. Absent: always counted.
   */
  staleAdmittedMs?: number;
  now?: () => number;
}

/**
 * Ends (reason REASON_NEVER_JOINED, outcome not_joined) every session of
 * `sessions` still `admitted` that was admitted before `cutoff` (no token of
 * it can still be valid: a client that died after admission), and returns
 * the others. Shared by the limit (policy refuse) and the periodic check
 * (subscription-watch.ts).
 */
export async function endStaleAdmitted(
  sessions: SessionRecord[],
  cutoff: number,
  kick: (sid: string, reason: string) => Promise<unknown>,
): Promise<SessionRecord[]> {
  const kept: SessionRecord[] = [];
  for (const s of sessions) {
    if (s.state !== 'admitted' || s.createdAt >= cutoff) {
      kept.push(s);
      continue;
    }
    try {
      await kick(s.id, REASON_NEVER_JOINED);
    } catch (err) {
      // It ended on its own meanwhile.
      if (!(err instanceof ClientError && err.code === 'session_ended')) throw err;
    }
  }
  return kept;
}

export class SessionLimit {
  private readonly onLimit: OnLimit;
  /** Admissions of one user are checked one at a time, so two at once cannot both slip under the limit. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: SessionLimitDeps) {
    this.onLimit = deps.onLimit ?? 'replace-oldest';
  }

  limitFor(user: User | undefined, sub: Subscription | undefined): number | null {
    return sub?.maxSessions ?? user?.maxSessions ?? this.deps.defaultMax ?? DEFAULTS.maxSessionsPerUser;
  }

  /**
   * Runs `open` (which creates the new session) under the user's limit:
   * refuses before it (policy refuse), or ends the oldest sessions after it.
   */
  async admit<T extends { session: string }>(userName: string, sub: Subscription | undefined, open: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(userName) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(() => this.admitNow(userName, sub, open));
    this.queues.set(userName, run);
    try {
      return await run;
    } finally {
      if (this.queues.get(userName) === run) this.queues.delete(userName);
    }
  }

  private async admitNow<T extends { session: string }>(userName: string, sub: Subscription | undefined, open: () => Promise<T>): Promise<T> {
    const max = this.limitFor(await this.deps.store.getUser(userName), sub);
    if (max === null) return open();
    if (this.onLimit === 'refuse') {
      const live = await this.withoutStale(await this.liveSessions(userName));
      if (live.length >= max) {
        throw new ClientError('too_many_sessions', `${userName} already watches on ${live.length} device${live.length === 1 ? '' : 's'} (limit ${max})`);
      }
      return open();
    }
    const result = await open();
    const others = (await this.liveSessions(userName)).filter((s) => s.id !== result.session);
    const excess = others.length + 1 - max;
    for (const old of others.slice(0, Math.max(0, excess))) {
      try {
        await this.deps.kick(old.id, REASON_OTHER_DEVICE);
      } catch (err) {
        // It ended on its own meanwhile: the limit holds.
        if (!(err instanceof ClientError && err.code === 'session_ended')) throw err;
      }
    }
    return result;
  }

  /** Ends (not_joined) the sessions admitted too long ago that never joined; returns the others. */
  private async withoutStale(live: SessionRecord[]): Promise<SessionRecord[]> {
    const { staleAdmittedMs, now } = this.deps;
    if (staleAdmittedMs === undefined || !now) return live;
    return endStaleAdmitted(live, now() - staleAdmittedMs, this.deps.kick);
  }

  /** The user's open viewer sessions not already being ended, oldest first. */
  private async liveSessions(user: string): Promise<SessionRecord[]> {
    const open = (await this.deps.store.listSessions({ user })).filter((s) => s.role === 'viewer' && s.state !== 'ended');
    const live: SessionRecord[] = [];
    for (const s of open) {
      const [pending] = await this.deps.store.listDisconnects({ sid: s.id, pending: true, limit: 1 });
      if (!pending) live.push(s);
    }
    return live.sort((a, b) => a.createdAt - b.createdAt);
  }
}
