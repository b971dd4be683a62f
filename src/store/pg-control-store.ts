/**
 * ControlStore on PostgreSQL (pg): for control servers that outgrow one
 * machine's SQLite file. The same port, semantics and compliance suite as
 * sqlite-control-store.ts; migrations are the .sql files in
 * migrations/postgres/, applied in name order and recorded in
 * schema_migrations, under a lock so control servers starting together do not
 * race.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type pg from 'pg';
import { ClientError, InternalError } from '../core/errors.js';
import type { ControlStore, DisconnectPatch, TrackerCredential, TrackerPresence } from '../core/ports.js';
import type { DeviceRecord, DisconnectRecord, Program, SessionRecord, Subscription, User } from '../core/types.js';
import { toUser, type UserRow } from './pg-catalog-rows.js';
import { toProgram, toSubscription, type ProgramRow, type SubscriptionRow } from './record-rows.js';
import { deleteDeviceRow, deleteDeviceRowsOfUser, insertDevice, selectDevice, selectDevicesOfUser } from './pg-device-rows.js';
import { insertDisconnect, selectDisconnect, selectDisconnects, updateDisconnectRow } from './pg-disconnect-rows.js';
import { disconnectNoticeChannel } from './pg-disconnect-notices.js';
import {
  claimDisconnectRows,
  deletePresenceRow,
  putPresenceRow,
  releaseLeaseRows,
  renewLeaseRows,
  selectPresenceRows,
  touchPresenceRows,
} from './pg-lease-rows.js';
import { DatabaseUnavailableError, isPgForeignKeyViolation, isPgRefusal, isPgUniqueViolation, redactUrl } from './pg-errors.js';
import { insertTrackerCredential, revokeTrackerCredentialRow, selectTrackerCredential, selectTrackerCredentials } from './pg-tracker-credential-rows.js';
import { createPgPool, execute, selectRows, type PgPoolOptions } from './pg-pool.js';
import { insertSession, selectSession, selectSessions, updateSessionRow } from './pg-session-rows.js';
import type { SessionFilter } from './sqlite-session-rows.js';

const MIGRATIONS_DIR = new URL('./migrations/postgres/', import.meta.url);

export class PgControlStore implements ControlStore {
  private closed = false;

  /**
   * Connects to `url` (postgres:// or postgresql://) and asks for its schema (a first round trip)
   * before anything uses it, the counterpart of SQLite's start-up check: an
   * unreachable server or a refused login throws DatabaseUnavailableError
   * naming the URL without its password (nothing is left open).
   */
  static async open(url: string, opts: PgPoolOptions = {}): Promise<PgControlStore> {
    const store = new PgControlStore(createPgPool(url, opts));
    try {
      // The schema the connections work in (the option, or a search_path in the URL): every store on it, whichever
      // way it was named, announces disconnects on one channel.
      const [row] = await selectRows<{ schema: string | null }>(store.pool, 'SELECT current_schema() AS schema');
      store.noticeChannel = disconnectNoticeChannel(row?.schema ?? undefined);
    } catch (err) {
      await store.close();
      throw new DatabaseUnavailableError(redactUrl(url), isPgRefusal(err), { cause: err });
    }
    return store;
  }

  /** Where a new pending disconnect is announced (NOTIFY): one channel per schema, as NOTIFY reaches the whole database; PgDisconnectNotices listens on it. */
  noticeChannel = disconnectNoticeChannel(undefined);

  private constructor(private readonly pool: pg.Pool) {}

  /** One round trip to the server: rejects when it cannot be reached or answers with an error. */
  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async migrate(): Promise<void> {
    const files = readdirSync(MIGRATIONS_DIR)
      .filter((f) => f.endsWith('.sql'))
      .sort();
    await this.transaction(async (db) => {
      // Several control servers may start on one database at once: the first migrates, the others wait,
      // then find nothing left to do. Per schema, so test runs in schemas of their own do not wait for each other.
      await db.query("SELECT pg_advisory_xact_lock(hashtext('gatecast migrate ' || current_schema()))");
      await db.query('CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)');
      const applied = new Set((await selectRows<{ version: string }>(db, 'SELECT version FROM schema_migrations')).map((r) => r.version));
      for (const file of files) {
        const version = file.replace(/\.sql$/, '');
        if (applied.has(version)) continue;
        const sql = readFileSync(new URL(file, MIGRATIONS_DIR), 'utf8');
        try {
          await db.query(sql);
          await db.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [version, Date.now()]);
        } catch (err) {
          throw new InternalError(`migration ${file} failed`, { cause: err });
        }
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  /** Runs `fn` on one connection inside BEGIN … COMMIT; any error rolls back and is rethrown. */
  private async transaction<T>(fn: (db: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        // The connection itself failed: it must not go back to the pool.
        broken = true;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async createUser(user: User): Promise<void> {
    try {
      await execute(this.pool, 'INSERT INTO users (name, password_hash, is_admin, created_at, max_sessions) VALUES ($1, $2, $3, $4, $5)', [
        user.name,
        user.passwordHash,
        user.isAdmin,
        user.createdAt,
        user.maxSessions ?? null,
      ]);
    } catch (err) {
      if (isPgUniqueViolation(err)) throw new ClientError('conflict', `user ${user.name} already exists`);
      throw err;
    }
  }

  async getUser(name: string): Promise<User | undefined> {
    const [row] = await selectRows<UserRow>(this.pool, 'SELECT * FROM users WHERE name = $1', [name]);
    return row && toUser(row);
  }

  async listUsers(): Promise<User[]> {
    return (await selectRows<UserRow>(this.pool, 'SELECT * FROM users ORDER BY name')).map(toUser);
  }

  async setUserPassword(name: string, passwordHash: string): Promise<void> {
    const changed = await execute(this.pool, 'UPDATE users SET password_hash = $1 WHERE name = $2', [passwordHash, name]);
    if (changed === 0) throw new ClientError('unknown_user', `no such user: ${name}`);
  }

  async setUserMaxSessions(name: string, maxSessions: number | null): Promise<void> {
    const changed = await execute(this.pool, 'UPDATE users SET max_sessions = $1 WHERE name = $2', [maxSessions, name]);
    if (changed === 0) throw new ClientError('unknown_user', `no such user: ${name}`);
  }

  async deleteUser(name: string): Promise<boolean> {
    return (await execute(this.pool, 'DELETE FROM users WHERE name = $1', [name])) > 0;
  }

  async createProgram(p: Program): Promise<void> {
    try {
      await execute(
        this.pool,
        `INSERT INTO programs (id, title, bitrate_bps, length_s, source_public_key, source_private_key, packets_per_piece, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [p.id, p.title, p.bitrateBps, p.lengthS, p.sourcePublicKey, p.sourcePrivateKey, p.packetsPerPiece, p.createdAt],
      );
    } catch (err) {
      if (isPgUniqueViolation(err)) throw new ClientError('conflict', `program ${p.id} already exists`);
      throw err;
    }
  }

  async getProgram(id: string): Promise<Program | undefined> {
    const [row] = await selectRows<ProgramRow>(this.pool, 'SELECT * FROM programs WHERE id = $1', [id]);
    return row && toProgram(row);
  }

  async listPrograms(): Promise<Program[]> {
    return (await selectRows<ProgramRow>(this.pool, 'SELECT * FROM programs ORDER BY id')).map(toProgram);
  }

  async deleteProgram(id: string): Promise<boolean> {
    return (await execute(this.pool, 'DELETE FROM programs WHERE id = $1', [id])) > 0;
  }

  async setProgramSourceKey(id: string, sourcePublicKey: string): Promise<void> {
    const changed = await execute(this.pool, "UPDATE programs SET source_public_key = $1, source_private_key = '' WHERE id = $2", [sourcePublicKey, id]);
    if (changed === 0) throw new ClientError('unknown_program', `no such program: ${id}`);
  }

  async putSubscription(sub: Subscription): Promise<void> {
    try {
      await this.transaction(async (db) => {
        // Checked in this order so both stores name the same missing party when both are.
        if ((await selectRows(db, 'SELECT 1 FROM users WHERE name = $1', [sub.user])).length === 0) {
          throw new ClientError('unknown_user', `no such user: ${sub.user}`);
        }
        if ((await selectRows(db, 'SELECT 1 FROM programs WHERE id = $1', [sub.program])).length === 0) {
          throw new ClientError('unknown_program', `no such program: ${sub.program}`);
        }
        await execute(
          db,
          `INSERT INTO subscriptions ("user", program, until, created_at, max_sessions) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT ("user", program) DO UPDATE SET until = excluded.until, created_at = excluded.created_at, max_sessions = excluded.max_sessions`,
          [sub.user, sub.program, sub.until, sub.createdAt, sub.maxSessions ?? null],
        );
      });
    } catch (err) {
      // Read committed: the user or program may have been deleted by another server between the check and the insert.
      if (isPgForeignKeyViolation(err, 'subscriptions_user_fkey')) throw new ClientError('unknown_user', `no such user: ${sub.user}`);
      if (isPgForeignKeyViolation(err, 'subscriptions_program_fkey')) throw new ClientError('unknown_program', `no such program: ${sub.program}`);
      throw err;
    }
  }

  async getSubscription(user: string, program: string): Promise<Subscription | undefined> {
    const [row] = await selectRows<SubscriptionRow>(this.pool, 'SELECT * FROM subscriptions WHERE "user" = $1 AND program = $2', [user, program]);
    return row && toSubscription(row);
  }

  async listSubscriptions(filter: { user?: string; program?: string } = {}): Promise<Subscription[]> {
    const rows = await selectRows<SubscriptionRow>(
      this.pool,
      `SELECT * FROM subscriptions
       WHERE ($1::text IS NULL OR "user" = $1) AND ($2::text IS NULL OR program = $2)
       ORDER BY "user", program`,
      [filter.user ?? null, filter.program ?? null],
    );
    return rows.map(toSubscription);
  }

  async deleteSubscription(user: string, program: string): Promise<boolean> {
    return (await execute(this.pool, 'DELETE FROM subscriptions WHERE "user" = $1 AND program = $2', [user, program])) > 0;
  }

  async createSession(s: SessionRecord): Promise<void> {
    await insertSession(this.pool, s);
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    return selectSession(this.pool, id);
  }

  async listSessions(filter: SessionFilter = {}): Promise<SessionRecord[]> {
    return selectSessions(this.pool, filter);
  }

  async updateSession(id: string, patch: Partial<Omit<SessionRecord, 'id'>>): Promise<void> {
    await updateSessionRow(this.pool, id, patch);
  }

  async createDisconnect(d: DisconnectRecord): Promise<void> {
    await insertDisconnect(this.pool, d, this.noticeChannel);
  }

  async getDisconnect(id: string): Promise<DisconnectRecord | undefined> {
    return selectDisconnect(this.pool, id);
  }

  async listDisconnects(filter: { pending?: boolean; sid?: string; limit?: number } = {}): Promise<DisconnectRecord[]> {
    return selectDisconnects(this.pool, filter);
  }

  async updateDisconnect(id: string, patch: DisconnectPatch): Promise<DisconnectRecord> {
    return updateDisconnectRow(this.pool, id, patch);
  }

  async claimDisconnects(owner: string, filter: { trackerIds: readonly string[]; ids?: readonly string[] }, now: number, leaseMs: number): Promise<DisconnectRecord[]> {
    return claimDisconnectRows(this.pool, owner, filter, now, leaseMs);
  }

  async renewDisconnectLeases(owner: string, now: number, leaseMs: number): Promise<string[]> {
    return renewLeaseRows(this.pool, owner, now, leaseMs);
  }

  async releaseDisconnects(owner: string, ids?: readonly string[]): Promise<number> {
    return releaseLeaseRows(this.pool, owner, ids);
  }

  async putTrackerPresence(p: TrackerPresence): Promise<void> {
    await putPresenceRow(this.pool, p);
  }

  async touchTrackerPresence(instance: string, trackerIds: readonly string[], seenAt: number): Promise<void> {
    await touchPresenceRows(this.pool, instance, trackerIds, seenAt);
  }

  async deleteTrackerPresence(trackerId: string, instance: string): Promise<boolean> {
    return deletePresenceRow(this.pool, trackerId, instance);
  }

  async listTrackerPresence(seenAfter: number): Promise<TrackerPresence[]> {
    return selectPresenceRows(this.pool, seenAfter);
  }

  async createDevice(d: DeviceRecord): Promise<void> {
    await insertDevice(this.pool, d);
  }

  async getDevice(id: string): Promise<DeviceRecord | undefined> {
    return selectDevice(this.pool, id);
  }

  async listDevices(user: string): Promise<DeviceRecord[]> {
    return selectDevicesOfUser(this.pool, user);
  }

  async deleteDevice(id: string): Promise<boolean> {
    return deleteDeviceRow(this.pool, id);
  }

  async deleteDevicesOfUser(user: string, filter: { expiredAt?: number } = {}): Promise<number> {
    return deleteDeviceRowsOfUser(this.pool, user, filter.expiredAt ?? null);
  }

  async createTrackerCredential(c: TrackerCredential): Promise<void> {
    await insertTrackerCredential(this.pool, c);
  }

  async getTrackerCredential(id: string): Promise<TrackerCredential | undefined> {
    return selectTrackerCredential(this.pool, id);
  }

  async listTrackerCredentials(): Promise<TrackerCredential[]> {
    return selectTrackerCredentials(this.pool);
  }

  async revokeTrackerCredential(id: string, at: number): Promise<boolean> {
    return revokeTrackerCredentialRow(this.pool, id, at);
  }

  async getSecret(name: string): Promise<string | undefined> {
    const [row] = await selectRows<{ value: string }>(this.pool, 'SELECT value FROM secrets WHERE name = $1', [name]);
    return row?.value;
  }

  async putSecret(name: string, value: string): Promise<void> {
    await execute(this.pool, 'INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [name, value]);
  }
}
