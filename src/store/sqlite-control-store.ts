/**
 * ControlStore on SQLite (better-sqlite3): the embedded default, zero set-up.
 * Migrations are the .sql files next to this module, applied in name order and
 * recorded in schema_migrations, so a file database upgrades itself on start.
 */
import Database from 'better-sqlite3';
import { readdirSync, readFileSync } from 'node:fs';
import { ClientError, InternalError } from '../core/errors.js';
import type { ControlStore, DisconnectPatch } from '../core/ports.js';
import type { DeviceRecord, DisconnectRecord, Program, SessionRecord, SessionState, Subscription, User } from '../core/types.js';
import { parseTimeline, toDisconnect, type DisconnectRow } from './sqlite-disconnect-rows.js';

const MIGRATIONS_DIR = new URL('./migrations/sqlite/', import.meta.url);

interface UserRow {
  name: string;
  password_hash: string;
  is_admin: number;
  created_at: number;
  max_sessions: number | null;
}
interface ProgramRow {
  id: string;
  title: string;
  bitrate_bps: number;
  length_s: number | null;
  source_public_key: string;
  source_private_key: string;
  packets_per_piece: number;
  created_at: number;
}
interface SubscriptionRow {
  user: string;
  program: string;
  until: number | null;
  created_at: number;
  max_sessions: number | null;
}
interface SessionRow {
  id: string;
  user: string;
  program: string;
  role: 'viewer' | 'source';
  client_key: string;
  state: SessionState;
  ip: string | null;
  port: number | null;
  tracker_id: string | null;
  created_at: number;
  joined_at: number | null;
  ended_at: number | null;
  end_reason: string | null;
}

const toUser = (r: UserRow): User => ({
  name: r.name,
  passwordHash: r.password_hash,
  isAdmin: r.is_admin === 1,
  createdAt: r.created_at,
  maxSessions: r.max_sessions,
});
const toProgram = (r: ProgramRow): Program => ({
  id: r.id,
  title: r.title,
  bitrateBps: r.bitrate_bps,
  lengthS: r.length_s,
  sourcePublicKey: r.source_public_key,
  sourcePrivateKey: r.source_private_key,
  packetsPerPiece: r.packets_per_piece,
  createdAt: r.created_at,
});
const toSubscription = (r: SubscriptionRow): Subscription => ({
  user: r.user,
  program: r.program,
  until: r.until,
  createdAt: r.created_at,
  maxSessions: r.max_sessions,
});
const toSession = (r: SessionRow): SessionRecord => ({
  id: r.id,
  user: r.user,
  program: r.program,
  role: r.role,
  clientKey: r.client_key,
  state: r.state,
  ip: r.ip,
  port: r.port,
  trackerId: r.tracker_id,
  createdAt: r.created_at,
  joinedAt: r.joined_at,
  endedAt: r.ended_at,
  endReason: r.end_reason,
});

interface DeviceRow {
  id: string;
  user: string;
  secret_hash: string;
  label: string;
  created_at: number;
  expires_at: number;
}
const toDevice = (r: DeviceRow): DeviceRecord => ({
  id: r.id,
  user: r.user,
  secretHash: r.secret_hash,
  label: r.label,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
});

/** SessionRecord field → column, for partial updates. */
const SESSION_COLUMNS: Record<keyof Omit<SessionRecord, 'id'>, string> = {
  user: 'user',
  program: 'program',
  role: 'role',
  clientKey: 'client_key',
  state: 'state',
  ip: 'ip',
  port: 'port',
  trackerId: 'tracker_id',
  createdAt: 'created_at',
  joinedAt: 'joined_at',
  endedAt: 'ended_at',
  endReason: 'end_reason',
};

function isUniqueViolation(err: unknown): boolean {
  return err instanceof Error && 'code' in err && (err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || err.code === 'SQLITE_CONSTRAINT_UNIQUE');
}

export class SqliteControlStore implements ControlStore {
  private readonly db: Database.Database;

  /** `path`: a file, or ':memory:'. */
  constructor(path: string) {
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
    try {
      this.db
        .prepare(
          `INSERT INTO sessions (id, user, program, role, client_key, state, ip, port, tracker_id, created_at, joined_at, ended_at, end_reason)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(s.id, s.user, s.program, s.role, s.clientKey, s.state, s.ip, s.port, s.trackerId, s.createdAt, s.joinedAt, s.endedAt, s.endReason);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ClientError('conflict', `session ${s.id} already exists`);
      throw err;
    }
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM sessions WHERE id = ?').get(id) as SessionRow | undefined;
    return row && toSession(row);
  }

  async listSessions(filter: { user?: string; program?: string; includeEnded?: boolean; endedAfter?: number } = {}): Promise<SessionRecord[]> {
    const rows = this.db
      .prepare(
        `SELECT * FROM sessions
         WHERE (@user IS NULL OR user = @user) AND (@program IS NULL OR program = @program)
           AND (state <> 'ended' OR (@all = 1 AND (@after IS NULL OR ended_at > @after)))
         ORDER BY created_at, id`,
      )
      .all({
        user: filter.user ?? null,
        program: filter.program ?? null,
        all: filter.includeEnded ? 1 : 0,
        after: filter.endedAfter ?? null,
      }) as SessionRow[];
    return rows.map(toSession);
  }

  async updateSession(id: string, patch: Partial<Omit<SessionRecord, 'id'>>): Promise<void> {
    const sets: string[] = [];
    const values: Array<string | number | null> = [];
    for (const [field, column] of Object.entries(SESSION_COLUMNS) as Array<[keyof typeof SESSION_COLUMNS, string]>) {
      const value = patch[field];
      if (value === undefined) continue;
      sets.push(`${column} = ?`);
      values.push(value);
    }
    if (sets.length === 0) {
      if (!(await this.getSession(id))) throw new ClientError('unknown_session', `no such session: ${id}`);
      return;
    }
    const r = this.db.prepare(`UPDATE sessions SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
    if (r.changes === 0) throw new ClientError('unknown_session', `no such session: ${id}`);
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
      if (isUniqueViolation(err)) throw new ClientError('conflict', `disconnect ${d.id} already exists`);
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

  async createDevice(d: DeviceRecord): Promise<void> {
    try {
      this.db
        .prepare('INSERT INTO devices (id, user, secret_hash, label, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(d.id, d.user, d.secretHash, d.label, d.createdAt, d.expiresAt);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ClientError('conflict', `device ${d.id} already exists`);
      if (err instanceof Error && 'code' in err && err.code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        throw new ClientError('unknown_user', `no such user: ${d.user}`);
      }
      throw err;
    }
  }

  async getDevice(id: string): Promise<DeviceRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM devices WHERE id = ?').get(id) as DeviceRow | undefined;
    return row && toDevice(row);
  }

  async listDevices(user: string): Promise<DeviceRecord[]> {
    return (this.db.prepare('SELECT * FROM devices WHERE user = ? ORDER BY created_at, rowid').all(user) as DeviceRow[]).map(toDevice);
  }

  async deleteDevice(id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM devices WHERE id = ?').run(id).changes > 0;
  }

  async deleteDevicesOfUser(user: string, filter: { expiredAt?: number } = {}): Promise<number> {
    return this.db
      .prepare('DELETE FROM devices WHERE user = @user AND (@at IS NULL OR expires_at <= @at)')
      .run({ user, at: filter.expiredAt ?? null }).changes;
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
