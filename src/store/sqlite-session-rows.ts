/** Sessions in the SQLite store: the `sessions` table ↔ SessionRecord, with partial updates. */
import type Database from 'better-sqlite3';
import { ClientError } from '../core/errors.js';
import type { SessionRecord, SessionState } from '../core/types.js';
import { isUniqueViolation } from './sqlite-errors.js';

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

export interface SessionFilter {
  user?: string;
  program?: string;
  includeEnded?: boolean;
  endedAfter?: number;
}

export function insertSession(db: Database.Database, s: SessionRecord): void {
  try {
    db.prepare(
      `INSERT INTO sessions (id, user, program, role, client_key, state, ip, port, tracker_id, created_at, joined_at, ended_at, end_reason)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(s.id, s.user, s.program, s.role, s.clientKey, s.state, s.ip, s.port, s.trackerId, s.createdAt, s.joinedAt, s.endedAt, s.endReason);
  } catch (err) {
    if (isUniqueViolation(err)) throw new ClientError('conflict', `session ${s.id} already exists`);
    throw err;
  }
}

export function selectSession(db: Database.Database, id: string): SessionRecord | undefined {
  const row = db.prepare('SELECT * FROM sessions WHERE id = ?').get(id) as SessionRow | undefined;
  return row && toSession(row);
}

export function selectSessions(db: Database.Database, filter: SessionFilter): SessionRecord[] {
  const rows = db
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

/** Sets the fields present in `patch`; unknown_session when no such row. */
export function updateSessionRow(db: Database.Database, id: string, patch: Partial<Omit<SessionRecord, 'id'>>): void {
  const sets: string[] = [];
  const values: Array<string | number | null> = [];
  for (const [field, column] of Object.entries(SESSION_COLUMNS) as Array<[keyof typeof SESSION_COLUMNS, string]>) {
    const value = patch[field];
    if (value === undefined) continue;
    sets.push(`${column} = ?`);
    values.push(value);
  }
  if (sets.length === 0) {
    if (!selectSession(db, id)) throw new ClientError('unknown_session', `no such session: ${id}`);
    return;
  }
  const r = db.prepare(`UPDATE sessions SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
  if (r.changes === 0) throw new ClientError('unknown_session', `no such session: ${id}`);
}
