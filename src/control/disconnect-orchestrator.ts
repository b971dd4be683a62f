/**
 * The control server's end of the disconnect chain (the patent's steps A and E; docs/ARCHITECTURE.md maps every step to its code).
 * A kick is recorded in the store before anything is sent, so a restart
 * resumes it; the command goes to the tracker that holds the session and is
 * resent every `retryMs` until that tracker acks it, and again whenever the
 * tracker says hello (it may have restarted and forgotten). The chain ends
 * when the tracker reports the session gone: the link has ended the session,
 * we complete the disconnect, and only then is the tracker's leave acked.
 *
 * Every change goes through one queue, so the store sees the steps of a
 * disconnect in the order they happened and handlers never race each other.
 *
 * With `cluster` (several control servers on one PostgreSQL database) it
 * drives only the disconnects it holds a lease on (disconnect-leases.ts);
 * without it (SQLite: one control server) it drives every pending one.
 */
import type { TimerHandle } from '../core/clock.js';
import { ClientError } from '../core/errors.js';
import type { DisconnectRecord, SessionRecord } from '../core/types.js';
import { DisconnectLeases } from './disconnect-leases.js';
import { classify, entry, lateJoinDisconnect, NO_OBSERVER, type DisconnectObserver, type DisconnectOrchestratorOptions, type InFlight } from './disconnect-steps.js';

export type { DisconnectObserver, DisconnectOrchestratorOptions, DisconnectSender } from './disconnect-steps.js';
import { checkSubscriptions } from './subscription-watch.js';
import type { LeftEvent, TrackerLinkHooks } from './tracker-link.js';
import { newId } from './ids.js';

export const DEFAULT_DISCONNECT_RETRY_MS = 1_000;
export const DEFAULT_EXPIRY_CHECK_MS = 5_000;

export class DisconnectOrchestrator {
  private readonly inFlight = new Map<string, InFlight>();
  private readonly retryMs: number;
  private queue: Promise<unknown> = Promise.resolve();
  private running = false;
  private watch: TimerHandle | null = null;
  private checking = false;
  private startedAt = -Infinity;
  private readonly observer: DisconnectObserver;
  private readonly leases: DisconnectLeases | null;

  constructor(private readonly opts: DisconnectOrchestratorOptions) {
    this.retryMs = opts.retryMs ?? DEFAULT_DISCONNECT_RETRY_MS;
    this.observer = opts.observer ?? NO_OBSERVER;
    this.leases = opts.cluster
      ? new DisconnectLeases(
          { ...opts.cluster, store: opts.store, clock: opts.clock, log: opts.log, sweepMs: this.retryMs },
          {
            serial: (fn) => this.serial(fn),
            adopt: (ds) => this.adopt(ds),
            drop: (ids) => ids.forEach((id) => this.untrack(id)),
            driven: () => [...this.inFlight].map(([id, f]) => ({ id, trackerId: f.trackerId })),
          },
        )
      : null;
  }

  /** Resumes the pending disconnects found in the store and starts the subscription watch. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.startedAt = this.opts.clock.now();
    if (this.leases) await this.leases.start();
    const resumed = await this.serial(async () => {
      if (this.leases) return []; // those of the trackers linked here are claimed as they say hello
      const pending = await this.opts.store.listDisconnects({ pending: true });
      for (const d of pending) this.track(d);
      return pending;
    });
    for (const d of resumed) this.transmit(d.id);
    if (resumed.length > 0) this.opts.log.info({ count: resumed.length }, 'resuming pending disconnects');
    const every = this.opts.expiryCheckMs === undefined ? DEFAULT_EXPIRY_CHECK_MS : this.opts.expiryCheckMs;
    if (every !== null) this.watch = this.opts.clock.setInterval(() => void this.checkSubscriptions(), every);
  }

  /** Stops resending (pending disconnects stay pending in the store) and waits for queued work. */
  async stop(): Promise<void> {
    this.running = false;
    await this.leases?.stop();
    this.watch?.cancel();
    this.watch = null;
    for (const f of this.inFlight.values()) f.timer?.cancel();
    this.inFlight.clear();
    await this.idle();
  }

  /** Resolves once every change queued so far is in the store. */
  async idle(): Promise<void> {
    for (;;) {
      const q = this.queue;
      await q;
      if (q === this.queue) return;
    }
  }

  /** Disconnects being retried right now. */
  get pendingCount(): number {
    return this.inFlight.size;
  }

  /**
   * Ends one session. Idempotent: a session already being ended returns its
   * pending disconnect; an ended session returns its last disconnect, or is
   * refused with session_ended if it ended on its own. A session admitted but
   * never joined is ended at once (outcome not_joined): no tracker holds it.
   */
  kick(sid: string, reason: string): Promise<DisconnectRecord> {
    return this.serial(() => this.kickNow(sid, reason));
  }

  /** Ends every open session of `user`; the disconnects, one per session. */
  kickUser(user: string, reason: string): Promise<DisconnectRecord[]> {
    return this.kickAll(this.opts.store.listSessions({ user }), reason);
  }

  /** Ends the open sessions of `user` on `program` (a revoked or expired subscription). */
  kickProgramSessionsOfUser(user: string, program: string, reason: string): Promise<DisconnectRecord[]> {
    return this.kickAll(this.opts.store.listSessions({ user, program }), reason);
  }

  /** Ends every open session of `program` (its source key changed: their info hash is gone). */
  kickProgram(program: string, reason: string): Promise<DisconnectRecord[]> {
    return this.kickAll(this.opts.store.listSessions({ program }), reason);
  }

  /** Runs one check of open sessions against their subscriptions now (the watch does it every expiryCheckMs). */
  async checkSubscriptions(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await checkSubscriptions({
        store: this.opts.store,
        now: this.opts.clock.now(),
        kick: (sid, reason) => this.kick(sid, reason),
        staleAdmittedMs: this.opts.staleAdmittedMs,
        since: this.startedAt,
      });
    } catch (err) {
      this.opts.log.error({ err }, 'subscription check failed');
    } finally {
      this.checking = false;
    }
  }

  /** What the tracker link calls as messages arrive; see TrackerLinkHooks. */
  linkHooks(): TrackerLinkHooks {
    return {
      acked: (ev) => this.serial(() => this.onAcked(ev.trackerId, ev.id)),
      left: (ev) => this.serial(() => this.onLeft(ev)),
      leaveAcked: (ev) => this.serial(() => this.onLeaveAcked(ev.sid, ev.sent)),
      hello: (trackerId) => this.serial(() => this.onHello(trackerId)),
      joinedAfterEnd: (ev) => this.serial(() => this.onJoinedAfterEnd(ev.trackerId, ev.sid)),
      moved: (ev) => this.serial(() => this.onMoved(ev.trackerId, ev.sid)),
    };
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async kickAll(sessions: Promise<SessionRecord[]>, reason: string): Promise<DisconnectRecord[]> {
    const out: DisconnectRecord[] = [];
    for (const s of await sessions) {
      try {
        out.push(await this.kick(s.id, reason));
      } catch (err) {
        // It ended on its own between the listing and the kick: nothing to do.
        if (!(err instanceof ClientError && err.code === 'session_ended')) throw err;
      }
    }
    return out;
  }

  private async kickNow(sid: string, reason: string): Promise<DisconnectRecord> {
    const { store, clock } = this.opts;
    const session = await store.getSession(sid);
    if (!session) throw new ClientError('unknown_session', `no such session: ${sid}`);
    const [pending] = await store.listDisconnects({ sid, pending: true, limit: 1 });
    if (pending) return pending;
    if (session.state === 'ended') {
      const [last] = await store.listDisconnects({ sid, limit: 1 });
      if (last) return last;
      throw new ClientError('session_ended', `session ${sid} has already ended${session.endReason ? ` (${session.endReason})` : ''}`);
    }
    const now = clock.now();
    const base = { id: newId(12), sid, user: session.user, program: session.program, reason, createdAt: now, attempts: 0 };
    if (session.state === 'admitted') {
      const done: DisconnectRecord = {
        ...base,
        state: 'completed',
        outcome: 'not_joined',
        trackerId: null,
        completedAt: now,
        timeline: [entry(now, 'not_joined', 'ended before it joined a swarm')],
      };
      await store.createDisconnect(done);
      await store.updateSession(sid, { state: 'ended', endedAt: now, endReason: 'not_joined' });
      this.observer.started();
      this.observer.completed('not_joined');
      this.opts.log.info({ sid, disconnect: done.id, reason }, 'session ended before joining');
      return done;
    }
    const d: DisconnectRecord = { ...base, state: 'pending', outcome: null, trackerId: session.trackerId, completedAt: null, timeline: [] };
    const raced = await this.createPending(d); // durable before anything is sent
    if (raced) return raced;
    this.observer.started();
    this.opts.log.info({ sid, disconnect: d.id, tracker: d.trackerId, reason }, 'disconnecting session');
    await this.drive(d);
    return d;
  }

  /**
   * Records a new pending disconnect; if the session has one already (another control server recorded it since we
   * looked: one pending per session is a unique index), returns that one instead.
   */
  private async createPending(d: DisconnectRecord): Promise<DisconnectRecord | null> {
    try {
      await this.opts.store.createDisconnect(d);
      return null;
    } catch (err) {
      if (!(err instanceof ClientError && err.code === 'conflict')) throw err;
      const [first] = await this.opts.store.listDisconnects({ sid: d.sid, pending: true, limit: 1 });
      if (!first) throw err;
      return first;
    }
  }

  /** A new pending disconnect: driven here, or (several control servers) announced to the one holding its tracker, and claimed if that is us. */
  private async drive(d: DisconnectRecord): Promise<void> {
    if (!this.leases) {
      this.track(d);
      this.transmit(d.id);
      return;
    }
    await this.leases.announce(d.id);
    if (d.trackerId === null) return;
    // Recorded already: should the claim fail, the sweep (here or where the tracker is) takes it up.
    await this.leases.claim({ trackerIds: [d.trackerId], ids: [d.id] }).catch((err: unknown) => this.opts.log.error({ err, disconnect: d.id }, 'claiming a new disconnect failed'));
  }

  private adopt(ds: readonly DisconnectRecord[]): void {
    for (const d of ds) {
      if (this.inFlight.has(d.id) || !this.running) continue;
      this.track(d);
      this.transmit(d.id);
    }
  }

  private track(d: DisconnectRecord): void {
    this.inFlight.set(d.id, {
      sid: d.sid,
      createdAt: d.createdAt,
      reason: d.reason,
      trackerId: d.trackerId,
      attempts: d.attempts,
      acked: false,
      ackRecorded: d.timeline.some((e) => e.event === 'tracker_ack'),
      timer: null,
    });
  }

  private untrack(id: string): void {
    this.inFlight.get(id)?.timer?.cancel();
    this.inFlight.delete(id);
  }

  /** Sends the command now if its tracker is connected, and arms the next resend either way. */
  private transmit(id: string): void {
    const f = this.inFlight.get(id);
    if (!f || !this.running) return;
    f.timer?.cancel();
    f.timer = null;
    if (f.acked) return;
    f.timer = this.opts.clock.setTimeout(() => this.transmit(id), this.retryMs);
    if (f.trackerId === null) return;
    if (!this.opts.link.send(f.trackerId, { type: 'disconnect', id, sid: f.sid, reason: f.reason })) return;
    f.attempts += 1;
    const attempts = f.attempts;
    const now = this.opts.clock.now();
    if (attempts === 1) this.observer.step('command_sent', now - f.createdAt);
    else this.observer.retried();
    const append = attempts === 1 ? [entry(now, 'command_sent', `to ${f.trackerId}`)] : undefined;
    this.serial(() => this.opts.store.updateDisconnect(id, { attempts, append })).catch((err: unknown) =>
      this.opts.log.error({ err, disconnect: id }, 'recording a disconnect attempt failed'),
    );
  }

  private async onAcked(trackerId: string, id: string): Promise<void> {
    const f = this.inFlight.get(id);
    if (!f || f.acked) return;
    f.acked = true;
    f.timer?.cancel();
    f.timer = null;
    if (f.ackRecorded) return;
    f.ackRecorded = true;
    const now = this.opts.clock.now();
    this.observer.step('tracker_ack', now - f.createdAt);
    await this.opts.store.updateDisconnect(id, { append: [entry(now, 'tracker_ack', `from ${trackerId}`)] });
  }

  private async onLeft(ev: LeftEvent): Promise<void> {
    const { store, clock } = this.opts;
    const open = await store.listDisconnects({ sid: ev.sid, pending: true });
    if (open.length === 0) return;
    const now = clock.now();
    const { outcome, event } = classify(ev.reason);
    for (const d of open) {
      this.untrack(d.id);
      await store.updateDisconnect(d.id, { state: 'completed', outcome, completedAt: now, append: [entry(now, event, `${ev.reason} (${ev.trackerId})`)] });
      this.observer.step(event, now - d.createdAt);
      this.observer.completed(outcome);
      this.opts.log.info({ sid: ev.sid, disconnect: d.id, outcome, ms: now - d.createdAt }, 'disconnect completed');
    }
  }

  /** Step E's last word: the tracker has been told (at least once) that its leave is recorded. */
  private async onLeaveAcked(sid: string, sent: boolean): Promise<void> {
    if (!sent) return;
    const now = this.opts.clock.now();
    for (const d of await this.opts.store.listDisconnects({ sid, limit: 10 })) {
      if (d.state !== 'completed' || d.outcome === 'not_joined' || d.outcome === 'lost') continue;
      if (d.timeline.some((e) => e.event === 'control_ack')) continue;
      await this.opts.store.updateDisconnect(d.id, { append: [entry(now, 'control_ack')] });
      this.observer.step('control_ack', now - d.createdAt);
    }
  }

  /** A tracker (re)connected: it may have restarted and lost what it had acked, so resend everything it owes us. */
  private async onHello(trackerId: string): Promise<void> {
    // Another control server may have been driving them, or none: they are ours once the tracker is linked here
    // (and sent as they are claimed: only those driven before are resent below).
    const before = new Set(this.inFlight.keys());
    await this.leases?.claim({ trackerIds: [trackerId] });
    for (const [id, f] of this.inFlight) {
      if (f.trackerId !== trackerId || !before.has(id)) continue;
      f.acked = false;
      this.transmit(id);
    }
  }

  /**
   * A session being kicked turned up on another tracker (its own died before the command got there, or its channel
   * broke): the command follows it, or the client would play on there. Nothing pending: nothing to do.
   */
  private async onMoved(trackerId: string, sid: string): Promise<void> {
    const [pending] = await this.opts.store.listDisconnects({ sid, pending: true, limit: 1 });
    if (pending) await this.readdress(pending, trackerId);
  }

  /** Points a pending disconnect at the tracker that holds its client now and sends it there (or claims it, in a cluster). */
  private async readdress(pending: DisconnectRecord, trackerId: string): Promise<void> {
    const f = this.inFlight.get(pending.id);
    if ((f ? f.trackerId : pending.trackerId) !== trackerId) {
      if (f) f.trackerId = trackerId;
      await this.opts.store.updateDisconnect(pending.id, { trackerId });
      this.opts.log.info({ sid: pending.sid, disconnect: pending.id, tracker: trackerId }, 'disconnect follows its session to another tracker');
    }
    if (f) {
      f.acked = false;
      this.transmit(pending.id);
    } else await this.leases?.claim({ trackerIds: [trackerId], ids: [pending.id] });
  }

  /** A client came back to a tracker after its session ended (e.g. a restarted tracker forgot the revocation): end it there too. */
  private async onJoinedAfterEnd(trackerId: string, sid: string): Promise<void> {
    const { store, clock } = this.opts;
    const session = await store.getSession(sid);
    if (!session) return;
    const [pending] = await store.listDisconnects({ sid, pending: true, limit: 1 });
    if (pending) return this.readdress(pending, trackerId);
    const [last] = await store.listDisconnects({ sid, limit: 1 });
    const d = lateJoinDisconnect({ id: newId(12), session, trackerId, lastReason: last?.reason, now: clock.now() });
    if (await this.createPending(d)) return; // another control server took it up meanwhile
    this.opts.log.warn({ sid, tracker: trackerId, disconnect: d.id }, 'ended session rejoined a tracker; disconnecting it there');
    await this.drive(d);
  }
}
