/**
 * ControlStore on SQLite (better-sqlite3): the embedded default, zero set-up.
 * Migrations are the .sql files next to this module, applied in name order and
 * recorded in schema_migrations, so a file database upgrades itself on start.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { ClientError, InternalError } from '../core/errors.js';
import type { ControlStore, DisconnectPatch, TrackerCredential, TrackerPresence } from '../core/ports.js';
import type { DeviceRecord, DisconnectRecord, Program, SessionRecord, Subscription, User } from '../core/types.js';
import { toUser, type UserRow } from './sqlite-catalog-rows.js';
import { toProgram, toSubscription, type ProgramRow, type SubscriptionRow } from './record-rows.js';
import { deleteDeviceRow, deleteDeviceRowsOfUser, insertDevice, selectDevice, selectDevicesOfUser } from './sqlite-device-rows.js';
import { parseTimeline, toDisconnect, type DisconnectRow } from './sqlite-disconnect-rows.js';
import {
  claimDisconnectRows,
  deletePresenceRow,
  putPresenceRow,
  releaseLeaseRows,
  renewLeaseRows,
  selectPresenceRows,
  touchPresenceRows,
} from './sqlite-lease-rows.js';
import { insertTrackerCredential, revokeTrackerCredentialRow, selectTrackerCredential, selectTrackerCredentials } from './sqlite-tracker-credential-rows.js';
import { DatabaseCorruptError, isCorruption, isUniqueViolation } from './sqlite-errors.js';
import { insertSession, selectSession, selectSessions, updateSessionRow, type SessionFilter } from './sqlite-session-rows.js';

const MIGRATIONS_DIR = new URL('./migrations/sqlite/', import.meta.url);

/** At most this many problems are asked of PRAGMA quick_check (it stops there). */
const INTEGRITY_PROBLEMS_MAX = 10;

export class SqliteControlStore implements ControlStore {
  private readonly db: Database.Database;

  /**
   * Opens `path` and checks it (PRAGMA quick_check) before anything uses it:
   * a damaged file throws DatabaseCorruptError (nothing is left open) rather
   * than serving with some rows unreadable.
   */
  static open(path: string): SqliteControlStore {
    let store: SqliteControlStore;
    try {
      store = new SqliteControlStore(path);
    } catch (err) {
      if (isCorruption(err)) throw new DatabaseCorruptError(path, [err instanceof Error ? err.message : String(err)], { cause: err });
      throw err;
    }
    const problems = store.integrityProblems();
    if (problems.length > 0) {
      store.db.close();
      throw new DatabaseCorruptError(path, problems);
    }
    return store;
  }

  /** `path`: a file, or ':memory:'. */
  constructor(path: string) {
    ownerOnly(path);
    this.db = new Database(path);
    if (path !== ':memory:') {
      this.db.pragma('journal_mode = WAL');
      // WAL + NORMAL: a commit survives a crash of the process (what a restart
      // mid-disconnect needs) without an fsync on every step of every chain.
      this.db.pragma('synchronous = NORMAL');
    }
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
  }

  async migrate(): Promise<void> {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
    const applied = new Set(
      (this.db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: string }>).map((r) => r.version),
    );
    const files = readdirSync(MIGRATIONS_DIR)
      .filter((f) => f.endsWith('.sql'))
      .sort();
    for (const file of files) {
      const version = file.replace(/\.sql$/, '');
      if (applied.has(version)) continue;
      const sql = readFileSync(new URL(file, MIGRATIONS_DIR), 'utf8');
      const apply = this.db.transaction(() => {
        this.db.exec(sql);
        this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(version, Date.now());
      });
      try {
        apply();
      } catch (err) {
        throw new InternalError(`migration ${file} failed`, { cause: err });
      }
    }
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /**
   * PRAGMA quick_check: every page and row readable and well-formed (it skips
   * the index-content check of integrity_check, so it stays linear in the
   * file's size). No problems: an empty list.
   */
  integrityProblems(): string[] {
    try {
      const rows = this.db.pragma(`quick_check(${INTEGRITY_PROBLEMS_MAX})`) as Array<{ quick_check: string }>;
      // One row per problem, or several in one row after a "*** in database main ***" line; "ok" when none.
      return rows
        .flatMap((r) => r.quick_check.split('\n'))
        .filter((line) => line !== 'ok' && line !== '' && !line.startsWith('*** in database'));
    } catch (err) {
      // Damage in the schema or the b-tree roots stops the check itself.
      if (isCorruption(err)) return [err instanceof Error ? err.message : String(err)];
      throw err;
    }
  }

  async createUser(user: User): Promise<void> {
    try {
      this.db
        .prepare('INSERT INTO users (name, password_hash, is_admin, created_at, max_sessions) VALUES (?, ?, ?, ?, ?)')
        .run(user.name, user.passwordHash, user.isAdmin ? 1 : 0, user.createdAt, user.maxSessions ?? null);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ClientError('conflict', `user ${user.name} already exists`);
      throw err;
    }
  }

  async getUser(name: string): Promise<User | undefined> {
    const row = this.db.prepare('SELECT * FROM users WHERE name = ?').get(name) as UserRow | undefined;
    return row && toUser(row);
  }

  async listUsers(): Promise<User[]> {
    return (this.db.prepare('SELECT * FROM users ORDER BY name').all() as UserRow[]).map(toUser);
  }

  async setUserPassword(name: string, passwordHash: string): Promise<void> {
    const r = this.db.prepare('UPDATE users SET password_hash = ? WHERE name = ?').run(passwordHash, name);
    if (r.changes === 0) throw new ClientError('unknown_user', `no such user: ${name}`);
  }

  async setUserMaxSessions(name: string, maxSessions: number | null): Promise<void> {
    const r = this.db.prepare('UPDATE users SET max_sessions = ? WHERE name = ?').run(maxSessions, name);
    if (r.changes === 0) throw new ClientError('unknown_user', `no such user: ${name}`);
  }

  async deleteUser(name: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM users WHERE name = ?').run(name).changes > 0;
  }

  async createProgram(p: Program): Promise<void> {
    try {
      this.db
        .prepare(
          `INSERT INTO programs (id, title, bitrate_bps, length_s, source_public_key, source_private_key, packets_per_piece, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(p.id, p.title, p.bitrateBps, p.lengthS, p.sourcePublicKey, p.sourcePrivateKey, p.packetsPerPiece, p.createdAt);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ClientError('conflict', `program ${p.id} already exists`);
      throw err;
    }
  }

  async getProgram(id: string): Promise<Program | undefined> {
    const row = this.db.prepare('SELECT * FROM programs WHERE id = ?').get(id) as ProgramRow | undefined;
    return row && toProgram(row);
  }

  async listPrograms(): Promise<Program[]> {
    return (this.db.prepare('SELECT * FROM programs ORDER BY id').all() as ProgramRow[]).map(toProgram);
  }

  async deleteProgram(id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM programs WHERE id = ?').run(id).changes > 0;
  }

  async setProgramSourceKey(id: string, sourcePublicKey: string): Promise<void> {
    const r = this.db.prepare("UPDATE programs SET source_public_key = ?, source_private_key = '' WHERE id = ?").run(sourcePublicKey, id);
    if (r.changes === 0) throw new ClientError('unknown_program', `no such program: ${id}`);
  }

  async putSubscription(sub: Subscription): Promise<void> {
    const put = this.db.transaction(() => {
      if (!this.db.prepare('SELECT 1 FROM users WHERE name = ?').get(sub.user)) {
        throw new ClientError('unknown_user', `no such user: ${sub.user}`);
      }
      if (!this.db.prepare('SELECT 1 FROM programs WHERE id = ?').get(sub.program)) {
        throw new ClientError('unknown_program', `no such program: ${sub.program}`);
      }
      this.db
        .prepare(
          `INSERT INTO subscriptions (user, program, until, created_at, max_sessions) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (user, program) DO UPDATE SET until = excluded.until, created_at = excluded.created_at, max_sessions = excluded.max_sessions`,
        )
        .run(sub.user, sub.program, sub.until, sub.createdAt, sub.maxSessions ?? null);
    });
    put();
  }

  async getSubscription(user: string, program: string): Promise<Subscription | undefined> {
    const row = this.db.prepare('SELECT * FROM subscriptions WHERE user = ? AND program = ?').get(user, program) as
      | SubscriptionRow
      | undefined;
    return row && toSubscription(row);
  }

  async listSubscriptions(filter: { user?: string; program?: string } = {}): Promise<Subscription[]> {
    const rows = this.db
      .prepare(
        `SELECT * FROM subscriptions
         WHERE (@user IS NULL OR user = @user) AND (@program IS NULL OR program = @program)
         ORDER BY user, program`,
      )
      .all({ user: filter.user ?? null, program: filter.program ?? null }) as SubscriptionRow[];
    return rows.map(toSubscription);
  }

  async deleteSubscription(user: string, program: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM subscriptions WHERE user = ? AND program = ?').run(user, program).changes > 0;
  }

  async createSession(s: SessionRecord): Promise<void> {
    insertSession(this.db, s);
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    return selectSession(this.db, id);
  }

  async listSessions(filter: SessionFilter = {}): Promise<SessionRecord[]> {
    return selectSessions(this.db, filter);
  }

  async updateSession(id: string, patch: Partial<Omit<SessionRecord, 'id'>>): Promise<void> {
    updateSessionRow(this.db, id, patch);
  }

  async createDisconnect(d: DisconnectRecord): Promise<void> {
    try {
      this.db
        .prepare(
          `INSERT INTO disconnects (id, sid, user, program, reason, state, outcome, tracker_id, attempts, created_at, completed_at, timeline)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(d.id, d.sid, d.user, d.program, d.reason, d.state, d.outcome, d.trackerId, d.attempts, d.createdAt, d.completedAt, JSON.stringify(d.timeline));
    } catch (err) {
      if (isUniqueViolation(err)) throw new ClientError('conflict', `disconnect ${d.id} already exists, or its session has a pending one`);
      throw err;
    }
  }

  async getDisconnect(id: string): Promise<DisconnectRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM disconnects WHERE id = ?').get(id) as DisconnectRow | undefined;
    return row && toDisconnect(row);
  }

  async listDisconnects(filter: { pending?: boolean; sid?: string; limit?: number } = {}): Promise<DisconnectRecord[]> {
    const rows = this.db
      .prepare(
        `SELECT * FROM disconnects
         WHERE (@pending = 0 OR state = 'pending') AND (@sid IS NULL OR sid = @sid)
         ORDER BY created_at DESC, rowid DESC
         LIMIT @limit`,
      )
      .all({ pending: filter.pending ? 1 : 0, sid: filter.sid ?? null, limit: filter.limit ?? -1 }) as DisconnectRow[];
    return rows.map(toDisconnect);
  }

  async updateDisconnect(id: string, patch: DisconnectPatch): Promise<DisconnectRecord> {
    const update = this.db.transaction((): DisconnectRow => {
      const row = this.db.prepare('SELECT * FROM disconnects WHERE id = ?').get(id) as DisconnectRow | undefined;
      if (!row) throw new ClientError('not_found', `no such disconnect: ${id}`);
      const next: DisconnectRow = {
        ...row,
        state: patch.state ?? row.state,
        outcome: patch.outcome !== undefined ? patch.outcome : row.outcome,
        tracker_id: patch.trackerId !== undefined ? patch.trackerId : row.tracker_id,
        attempts: patch.attempts ?? row.attempts,
        completed_at: patch.completedAt !== undefined ? patch.completedAt : row.completed_at,
        timeline: patch.append?.length ? JSON.stringify([...parseTimeline(row.timeline), ...patch.append]) : row.timeline,
      };
      this.db
        .prepare('UPDATE disconnects SET state = ?, outcome = ?, tracker_id = ?, attempts = ?, completed_at = ?, timeline = ? WHERE id = ?')
        .run(next.state, next.outcome, next.tracker_id, next.attempts, next.completed_at, next.timeline, id);
      return next;
    });
    return toDisconnect(update());
  }

  async claimDisconnects(owner: string, filter: { trackerIds: readonly string[]; ids?: readonly string[] }, now: number, leaseMs: number): Promise<DisconnectRecord[]> {
    return claimDisconnectRows(this.db, owner, filter, now, leaseMs);
  }

  async renewDisconnectLeases(owner: string, now: number, leaseMs: number): Promise<string[]> {
    return renewLeaseRows(this.db, owner, now, leaseMs);
  }

  async releaseDisconnects(owner: string, ids?: readonly string[]): Promise<number> {
    return releaseLeaseRows(this.db, owner, ids);
  }

  async putTrackerPresence(p: TrackerPresence): Promise<void> {
    putPresenceRow(this.db, p);
  }

  async touchTrackerPresence(instance: string, trackerIds: readonly string[], seenAt: number): Promise<void> {
    touchPresenceRows(this.db, instance, trackerIds, seenAt);
  }

  async deleteTrackerPresence(trackerId: string, instance: string): Promise<boolean> {
    return deletePresenceRow(this.db, trackerId, instance);
  }

  async listTrackerPresence(seenAfter: number): Promise<TrackerPresence[]> {
    return selectPresenceRows(this.db, seenAfter);
  }

  async createDevice(d: DeviceRecord): Promise<void> {
    insertDevice(this.db, d);
  }

  async getDevice(id: string): Promise<DeviceRecord | undefined> {
    return selectDevice(this.db, id);
  }

  async listDevices(user: string): Promise<DeviceRecord[]> {
    return selectDevicesOfUser(this.db, user);
  }

  async deleteDevice(id: string): Promise<boolean> {
    return deleteDeviceRow(this.db, id);
  }

  async deleteDevicesOfUser(user: string, filter: { expiredAt?: number } = {}): Promise<number> {
    return deleteDeviceRowsOfUser(this.db, user, filter.expiredAt ?? null);
  }

  async createTrackerCredential(c: TrackerCredential): Promise<void> {
    insertTrackerCredential(this.db, c);
  }

  async getTrackerCredential(id: string): Promise<TrackerCredential | undefined> {
    return selectTrackerCredential(this.db, id);
  }

  async listTrackerCredentials(): Promise<TrackerCredential[]> {
    return selectTrackerCredentials(this.db);
  }

  async revokeTrackerCredential(id: string, at: number): Promise<boolean> {
    return revokeTrackerCredentialRow(this.db, id, at);
  }

  async getSecret(name: string): Promise<string | undefined> {
    const row = this.db.prepare('SELECT value FROM secrets WHERE name = ?').get(name) as { value: string } | undefined;
    return row?.value;
  }

  async putSecret(name: string, value: string): Promise<void> {
    this.db
      .prepare('INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value')
      .run(name, value);
  }
}

/**
 * The database holds the token signing key, server-made source keys and
 * password hashes: it (and SQLite's -wal/-shm files, which SQLite creates with
 * the database's mode) is made, or closed up, to its owner only, whatever the
 * umask. Nothing to do for an in-memory or URI database.
 */
function ownerOnly(path: string): void {
  if (path === '' || path === ':memory:' || path.startsWith('file:')) return;
  closeSync(openSync(path, 'a', 0o600));
  for (const f of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      if ((statSync(f).mode & 0o077) !== 0) chmodSync(f, 0o600);
    } catch (err) {
      if (!(err instanceof Error && 'code' in err && err.code === 'ENOENT')) throw err;
    }
  }
}
