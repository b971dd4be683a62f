/**
 * Leases on pending disconnects, for several control servers on one database
 * (docs/ARCHITECTURE.md, "Several control servers"). The orchestrator of an
 * instance drives only the disconnects it holds a lease on: it claims the
 * pending ones addressed to the trackers linked to it (on a tracker's hello,
 * on a notice that one was recorded anywhere, on a kick it takes itself, and
 * on a sweep every retry period, the backstop for a lost notice), renews its
 * leases while it lives, and lets go of those whose tracker is no longer
 * linked to it. An instance that dies stops renewing: once its leases run out
 * the instance its trackers moved to claims them.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Clock, TimerHandle } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import type { ControlStore, DisconnectNotices } from '../core/ports.js';
import type { DisconnectRecord } from '../core/types.js';

export interface ClusterOptions {
  /** This process's id among the control servers (random per start; --instance-id sets it). */
  instanceId: string;
  notices: DisconnectNotices;
  /** The trackers whose control link is on this instance now. */
  trackerIds: () => string[];
  /** Lease length and renewal period (DEFAULTS.clusterLeaseMs, clusterLeaseRenewMs). */
  leaseMs?: number;
  renewMs?: number;
}

/** What the leases need from the orchestrator they serve. */
export interface LeaseDriver {
  /** Runs `fn` in the orchestrator's queue (after every change queued so far). */
  serial<T>(fn: () => Promise<T>): Promise<T>;
  /** Starts driving these disconnects, now leased to this instance (one driven already is left as it is). */
  adopt(ds: readonly DisconnectRecord[]): void;
  /** Stops driving these (the lease is lost or given up); the record stays pending for its new holder. */
  drop(ids: readonly string[]): void;
  /** The disconnects driven now, with their trackers. */
  driven(): Array<{ id: string; trackerId: string | null }>;
}

export class DisconnectLeases {
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private timers: TimerHandle[] = [];
  private running = false;

  constructor(
    private readonly opts: ClusterOptions & { store: ControlStore; clock: Clock; log: FastifyBaseLogger; sweepMs: number },
    private readonly driver: LeaseDriver,
  ) {
    this.leaseMs = opts.leaseMs ?? DEFAULTS.clusterLeaseMs;
    this.renewMs = opts.renewMs ?? DEFAULTS.clusterLeaseRenewMs;
  }

  get instanceId(): string {
    return this.opts.instanceId;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const { clock, notices } = this.opts;
    notices.subscribe(
      (id) => void this.driver.serial(() => this.claim({ ids: [id] })).catch((err: unknown) => this.failed(err, 'claiming a notified disconnect')),
      () => void this.sweep(),
    );
    await notices.start();
    this.timers = [clock.setInterval(() => void this.renew(), this.renewMs), clock.setInterval(() => void this.sweep(), this.opts.sweepMs)];
    await this.sweep();
  }

  /** Stops claiming and renewing, and gives every lease up so another instance takes them over at once. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const t of this.timers) t.cancel();
    this.timers = [];
    await this.opts.notices.stop();
    try {
      const n = await this.opts.store.releaseDisconnects(this.opts.instanceId);
      if (n > 0) this.opts.log.info({ instance: this.opts.instanceId, count: n }, 'released disconnect leases for another control server');
    } catch (err) {
      this.failed(err, 'releasing disconnect leases');
    }
  }

  /** Tells the other instances a pending disconnect was recorded (on PostgreSQL the insert did). */
  async announce(id: string): Promise<void> {
    await this.opts.notices.publish(id).catch((err: unknown) => this.failed(err, 'announcing a disconnect'));
  }

  /**
   * Claims the pending disconnects of the trackers linked here (only `trackerIds` of them, only `ids`, when
   * given) and drives those it gets. Call it from inside the orchestrator's queue.
   */
  async claim(filter: { trackerIds?: readonly string[]; ids?: readonly string[] } = {}): Promise<void> {
    if (!this.running) return;
    const linked = this.opts.trackerIds();
    const trackerIds = filter.trackerIds ? filter.trackerIds.filter((t) => linked.includes(t)) : linked;
    if (trackerIds.length === 0) return;
    const got = await this.opts.store.claimDisconnects(this.opts.instanceId, { trackerIds, ids: filter.ids }, this.opts.clock.now(), this.leaseMs);
    if (got.length > 0) this.driver.adopt(got);
  }

  /** Lets go of what this instance drives but no longer holds the tracker of, then claims what its trackers owe. */
  private sweep(): Promise<void> {
    return this.driver
      .serial(async () => {
        if (!this.running) return;
        const linked = new Set(this.opts.trackerIds());
        const away = this.driver
          .driven()
          .filter((d) => d.trackerId === null || !linked.has(d.trackerId))
          .map((d) => d.id);
        if (away.length > 0) {
          this.driver.drop(away);
          await this.opts.store.releaseDisconnects(this.opts.instanceId, away);
          this.opts.log.info({ instance: this.opts.instanceId, count: away.length }, 'released disconnects whose tracker is not linked here');
        }
        await this.claim();
      })
      .catch((err: unknown) => this.failed(err, 'sweeping for pending disconnects'));
  }

  /** Extends our leases; a disconnect whose lease was lost (taken over, or completed elsewhere) is no longer driven here. */
  private renew(): Promise<void> {
    return this.driver
      .serial(async () => {
        if (!this.running) return;
        const held = new Set(await this.opts.store.renewDisconnectLeases(this.opts.instanceId, this.opts.clock.now(), this.leaseMs));
        const lost = this.driver
          .driven()
          .filter((d) => !held.has(d.id))
          .map((d) => d.id);
        if (lost.length > 0) this.driver.drop(lost);
      })
      .catch((err: unknown) => this.failed(err, 'renewing disconnect leases'));
  }

  private failed(err: unknown, what: string): void {
    this.opts.log.error({ err, instance: this.opts.instanceId }, `${what} failed`);
  }
}
