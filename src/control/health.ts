/**
 * What `GET /v1/health` reports: `ok`, or `degraded` with one reason per
 * problem — no tracker connected (nobody can be admitted), the database found
 * damaged at run time (SQLite or PostgreSQL said so on some query), the
 * database unreadable or unreachable right now, or a backlog of disconnects (steps A–E) pending too long or too
 * many at once, or (several control servers) the PostgreSQL LISTEN connection
 * for disconnect notices down. The codes are stable (docs/OPERATIONS.md says what to do for
 * each); the messages are for people.
 */
import type { Clock } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import type { ControlStore } from '../core/ports.js';
import type { ControlHealth, HealthReason } from '../protocol/control-api.js';
import { iso } from './dates.js';

export type ControlHealthCode = 'no_tracker' | 'database_corrupt' | 'database_error' | 'disconnect_backlog' | 'notices_down';

const reason = (code: ControlHealthCode, message: string): HealthReason => ({ code, message });

/** Tells a store error that means the database file is damaged (store/sqlite-errors.ts isCorruption, for SQLite). */
export type CorruptionTest = (err: unknown) => boolean;

/**
 * Watches every store call for corruption errors. Damage does not heal, so
 * once seen it is reported until the process restarts (and the start-up
 * integrity check then refuses the file).
 */
export class DatabaseWatch {
  private first: { at: number; message: string } | null = null;

  constructor(
    private readonly isCorrupt: CorruptionTest,
    private readonly clock: Clock,
  ) {}

  /** The first corruption seen, if any. */
  get corruption(): { at: number; message: string } | null {
    return this.first;
  }

  /** Records `err` if it means corruption; returns whether it did. */
  observe(err: unknown): boolean {
    if (!this.isCorrupt(err)) return false;
    this.first ??= { at: this.clock.now(), message: err instanceof Error ? err.message : String(err) };
    return true;
  }

  /** The same store, every method's failure seen by observe() on its way to the caller. */
  watch(store: ControlStore): ControlStore {
    return new Proxy(store, {
      get: (target, prop, receiver) => {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]): unknown => {
          let out: unknown;
          try {
            out = Reflect.apply(value, target, args);
          } catch (err) {
            this.observe(err);
            throw err;
          }
          if (out instanceof Promise) {
            return out.catch((err: unknown) => {
              this.observe(err);
              throw err;
            });
          }
          return out;
        };
      },
    });
  }
}

export interface ControlHealthDeps {
  clock: Clock;
  /** The (watched) store, asked for the age of pending disconnects. */
  store: ControlStore;
  database: DatabaseWatch;
  /**
   * A round trip to a database server (PostgreSQL's SELECT 1), made on every report: an embedded
   * file cannot become unreachable, a server can while nothing else asks it anything.
   */
  probe?: () => Promise<void>;
  /** Trackers connected over the control link. */
  trackers: () => number;
  /** Disconnects not yet completed (DisconnectOrchestrator.pendingCount). */
  pendingDisconnects: () => number;
  /** Several control servers: whether the disconnect notices' LISTEN connection is up (DisconnectNotices.listening). */
  noticesListening?: () => boolean;
  /** Thresholds of disconnect_backlog (DEFAULTS.healthDisconnect*). */
  maxPending?: number;
  maxAgeMs?: number;
}

export class ControlHealthCheck {
  private readonly maxPending: number;
  private readonly maxAgeMs: number;

  constructor(private readonly deps: ControlHealthDeps) {
    this.maxPending = deps.maxPending ?? DEFAULTS.healthDisconnectMaxPending;
    this.maxAgeMs = deps.maxAgeMs ?? DEFAULTS.healthDisconnectMaxAgeMs;
  }

  async report(): Promise<ControlHealth> {
    const { clock, database } = this.deps;
    const now = clock.now();
    const reasons: HealthReason[] = [];
    const trackers = this.deps.trackers();
    if (trackers === 0) {
      reasons.push(reason('no_tracker', 'no tracker is connected: admissions are refused (503 no_tracker) until one connects'));
    }
    const pending = this.deps.pendingDisconnects();
    if (this.deps.noticesListening && !this.deps.noticesListening()) {
      reasons.push(
        reason(
          'notices_down',
          "the PostgreSQL LISTEN connection for disconnect notices is down (reconnecting): kicks recorded by other control servers reach this one's trackers only at its claim sweep, within a retry period",
        ),
      );
    }
    const unreadable = (err: unknown): HealthReason | null => {
      database.observe(err);
      const message = err instanceof Error ? err.message || err.name : String(err);
      return database.corruption ? null : reason('database_error', `the database could not be read: ${message}`);
    };
    const unreachable = this.deps.probe ? await this.deps.probe().then(() => null, unreadable) : null;
    // Unreachable: the backlog query would only fail the same way.
    const backlog = unreachable ?? (await this.backlog(pending, now).catch(unreadable));
    if (backlog) reasons.push(backlog);
    // Checked last: the backlog query above may be what finds the damage.
    const corrupt = database.corruption;
    if (corrupt) {
      reasons.unshift(
        reason(
          'database_corrupt',
          `the database reported corruption at ${iso(corrupt.at)} (${corrupt.message}): stop the control server and restore the database from a backup`,
        ),
      );
    }
    return { status: reasons.length === 0 ? 'ok' : 'degraded', reasons, trackers, pending_disconnects: pending, time: iso(now) };
  }

  private async backlog(pending: number, now: number): Promise<HealthReason | null> {
    if (pending === 0) return null;
    if (pending > this.maxPending) {
      return reason('disconnect_backlog', `${pending} disconnects are pending (more than ${this.maxPending})`);
    }
    // At most maxPending rows: listed only when there are few enough for the count alone not to tell.
    const open = await this.deps.store.listDisconnects({ pending: true });
    let oldest = Infinity;
    for (const d of open) oldest = Math.min(oldest, d.createdAt);
    if (!Number.isFinite(oldest) || now - oldest <= this.maxAgeMs) return null;
    const stuck = open.filter((d) => now - d.createdAt > this.maxAgeMs).length;
    return reason(
      'disconnect_backlog',
      `${stuck} of ${pending} pending disconnects started more than ${Math.round(this.maxAgeMs / 1000)} s ago (oldest ${Math.round((now - oldest) / 1000)} s)`,
    );
  }
}
