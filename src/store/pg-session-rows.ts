/** Sessions in the PostgreSQL store: the `sessions` table ↔ SessionRecord, with partial updates (as sqlite-session-rows.ts). */
import { ClientError } from '../core/errors.js';
import type { SessionRecord, SessionState } from '../core/types.js';
import { isPgUniqueViolation } from './pg-errors.js';
import { execute, selectRows, type Queryable } from './pg-pool.js';
import type { SessionFilter } from './sqlite-session-rows.js';

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

/** SessionRecord field → column (quoted where PostgreSQL reserves the word), for partial updates. */
const SESSION_COLUMNS: Record<keyof Omit<SessionRecord, 'id'>, string> = {
  user: '"user"',
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

export async function insertSession(db: Queryable, s: SessionRecord): Promise<void> {
  try {
    await execute(
      db,
      `INSERT INTO sessions (id, "user", program, role, client_key, state, ip, port, tracker_id, created_at, joined_at, ended_at, end_reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [s.id, s.user, s.program, s.role, s.clientKey, s.state, s.ip, s.port, s.trackerId, s.createdAt, s.joinedAt, s.endedAt, s.endReason],
    );
  } catch (err) {
    if (isPgUniqueViolation(err)) throw new ClientError('conflict', `session ${s.id} already exists`);
    throw err;
  }
}

export async function selectSession(db: Queryable, id: string): Promise<SessionRecord | undefined> {
  const [row] = await selectRows<SessionRow>(db, 'SELECT * FROM sessions WHERE id = $1', [id]);
  return row && toSession(row);
}

export async function selectSessions(db: Queryable, filter: SessionFilter): Promise<SessionRecord[]> {
  const rows = await selectRows<SessionRow>(
    db,
    `SELECT * FROM sessions
     WHERE ($1::text IS NULL OR "user" = $1) AND ($2::text IS NULL OR program = $2)
       AND (state <> 'ended' OR ($3::boolean AND ($4::bigint IS NULL OR ended_at > $4)))
     ORDER BY created_at, id`,
    [filter.user ?? null, filter.program ?? null, filter.includeEnded === true, filter.endedAfter ?? null],
  );
  return rows.map(toSession);
}

/** Sets the fields present in `patch`; unknown_session when no such row. */
export async function updateSessionRow(db: Queryable, id: string, patch: Partial<Omit<SessionRecord, 'id'>>): Promise<void> {
  const sets: string[] = [];
  const values: Array<string | number | null> = [];
  for (const [field, column] of Object.entries(SESSION_COLUMNS) as Array<[keyof typeof SESSION_COLUMNS, string]>) {
    const value = patch[field];
    if (value === undefined) continue;
    values.push(value);
    sets.push(`${column} = $${values.length}`);
  }
  if (sets.length === 0) {
    if (!(await selectSession(db, id))) throw new ClientError('unknown_session', `no such session: ${id}`);
    return;
  }
  values.push(id);
  const changed = await execute(db, `UPDATE sessions SET ${sets.join(', ')} WHERE id = $${values.length}`, values);
  if (changed === 0) throw new ClientError('unknown_session', `no such session: ${id}`);
}
