/**
 * The cluster-wide tracker directory (several control servers on one
 * database): each instance writes which trackers are linked to it (a row put
 * on the tracker's hello, refreshed every DEFAULTS.clusterDirectoryRefreshMs,
 * removed when the link closes) and reads the others' rows into its
 * TrackerRegistry, so listAll() names every tracker of the cluster. A row its
 * instance stopped refreshing (the instance died) is ignored after
 * DEFAULTS.clusterDirectoryStaleMs.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Clock, TimerHandle } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import type { ControlStore } from '../core/ports.js';
import type { TrackerInfo, TrackerRegistry } from './tracker-registry.js';

export interface TrackerDirectoryOptions {
  store: ControlStore;
  clock: Clock;
  registry: TrackerRegistry;
  instanceId: string;
  log: FastifyBaseLogger;
  refreshMs?: number;
  staleMs?: number;
}

export class TrackerDirectory {
  private timer: TimerHandle | null = null;
  private readonly writes = new Set<Promise<void>>();
  private readonly onRegistered = (t: TrackerInfo): void => this.write('recording a tracker in the directory', () => this.put(t));
  private readonly onUnregistered = (t: TrackerInfo): void =>
    this.write('removing a tracker from the directory', async () => {
      await this.opts.store.deleteTrackerPresence(t.id, this.opts.instanceId);
    });

  constructor(private readonly opts: TrackerDirectoryOptions) {}

  async start(): Promise<void> {
    const { registry, clock } = this.opts;
    registry.on('registered', this.onRegistered);
    registry.on('unregistered', this.onUnregistered);
    for (const t of registry.list()) await this.put(t);
    await this.refresh();
    this.timer = clock.setInterval(() => void this.refresh(), this.opts.refreshMs ?? DEFAULTS.clusterDirectoryRefreshMs);
  }

  /** Stops refreshing; waits for the writes under way (the links' removals on a graceful stop). */
  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = null;
    await Promise.all([...this.writes]);
    this.opts.registry.off('registered', this.onRegistered);
    this.opts.registry.off('unregistered', this.onUnregistered);
  }

  /** Says our trackers are still linked here and reads where the others are. */
  async refresh(): Promise<void> {
    const { store, registry, instanceId, clock } = this.opts;
    try {
      const now = clock.now();
      await store.touchTrackerPresence(instanceId, registry.list().map((t) => t.id), now);
      const rows = await store.listTrackerPresence(now - (this.opts.staleMs ?? DEFAULTS.clusterDirectoryStaleMs));
      registry.setRemote(
        rows
          .filter((r) => r.instance !== instanceId)
          .map((r) => ({ id: r.trackerId, announceUrl: r.announceUrl, wsUrl: r.wsUrl, connectedAt: r.connectedAt, instance: r.instance })),
      );
    } catch (err) {
      this.opts.log.warn({ err }, 'refreshing the tracker directory failed; keeping the last one read');
    }
  }

  private async put(t: TrackerInfo): Promise<void> {
    const now = this.opts.clock.now();
    await this.opts.store.putTrackerPresence({
      trackerId: t.id,
      instance: this.opts.instanceId,
      announceUrl: t.announceUrl,
      wsUrl: t.wsUrl,
      connectedAt: t.connectedAt,
      seenAt: now,
    });
  }

  private write(what: string, fn: () => Promise<void>): void {
    const p = fn().catch((err: unknown) => this.opts.log.warn({ err }, `${what} failed`));
    this.writes.add(p);
    void p.finally(() => this.writes.delete(p));
  }
}
