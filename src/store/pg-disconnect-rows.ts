/**
 * Disconnects in the PostgreSQL store: the `disconnects` table ↔
 * DisconnectRecord. The timeline is a jsonb array; a patch and its appended
 * entries are one UPDATE (atomic on its own, so no transaction is needed
 * where SQLite's store reads and writes in one).
 */
import { ClientError } from '../core/errors.js';
import type { DisconnectPatch } from '../core/ports.js';
import type { DisconnectOutcome, DisconnectRecord, DisconnectState } from '../core/types.js';
import { isPgUniqueViolation } from './pg-errors.js';
import { execute, selectRows, type Queryable } from './pg-pool.js';
import { toTimeline } from './sqlite-disconnect-rows.js';

export interface DisconnectRow {
  id: string;
  sid: string;
  user: string;
  program: string;
  reason: string;
  state: DisconnectState;
  outcome: DisconnectOutcome | null;
  tracker_id: string | null;
  attempts: number;
  created_at: number;
  completed_at: number | null;
  /** jsonb, parsed by pg. */
  timeline: unknown;
}

export const toDisconnect = (r: DisconnectRow): DisconnectRecord => ({
  id: r.id,
  sid: r.sid,
  user: r.user,
  program: r.program,
  reason: r.reason,
  state: r.state,
  outcome: r.outcome,
  trackerId: r.tracker_id,
  attempts: r.attempts,
  createdAt: r.created_at,
  completedAt: r.completed_at,
  timeline: toTimeline(r.timeline),
});

/**
 * Inserts `d`; a pending one is announced on `channel` (NOTIFY, payload: its id) by the same statement, so in the
 * insert's transaction: no control server hears of a disconnect that is not committed, and none misses one that is
 * (but for a listener that was down at the time, which the claim sweep covers).
 */
export async function insertDisconnect(db: Queryable, d: DisconnectRecord, channel: string): Promise<void> {
  try {
    await execute(
      db,
      `WITH inserted AS (
         INSERT INTO disconnects (id, sid, "user", program, reason, state, outcome, tracker_id, attempts, created_at, completed_at, timeline)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb)
         RETURNING id, state)
       SELECT pg_notify($13, id) FROM inserted WHERE state = 'pending'`,
      // pg sends a JS array as a PostgreSQL array: the timeline goes as JSON text.
      [d.id, d.sid, d.user, d.program, d.reason, d.state, d.outcome, d.trackerId, d.attempts, d.createdAt, d.completedAt, JSON.stringify(d.timeline), channel],
    );
  } catch (err) {
    if (isPgUniqueViolation(err)) throw new ClientError('conflict', `disconnect ${d.id} already exists, or its session has a pending one`);
    throw err;
  }
}

export async function selectDisconnect(db: Queryable, id: string): Promise<DisconnectRecord | undefined> {
  const [row] = await selectRows<DisconnectRow>(db, 'SELECT * FROM disconnects WHERE id = $1', [id]);
  return row && toDisconnect(row);
}

/** Newest first (seq, like SQLite's rowid, orders those created in the same millisecond). */
export async function selectDisconnects(db: Queryable, filter: { pending?: boolean; sid?: string; limit?: number }): Promise<DisconnectRecord[]> {
  const rows = await selectRows<DisconnectRow>(
    db,
    `SELECT * FROM disconnects
     WHERE (NOT $1::boolean OR state = 'pending') AND ($2::text IS NULL OR sid = $2)
     ORDER BY created_at DESC, seq DESC
     LIMIT $3`,
    // LIMIT NULL: no limit.
    [filter.pending === true, filter.sid ?? null, filter.limit ?? null],
  );
  return rows.map(toDisconnect);
}

/** Applies `patch` (an explicit null is a change, an absent field is not); not_found when no such row. */
export async function updateDisconnectRow(db: Queryable, id: string, patch: DisconnectPatch): Promise<DisconnectRecord> {
  const values: unknown[] = [id];
  const sets: string[] = [];
  const set = (column: string, value: unknown, cast = ''): void => {
    values.push(value);
    sets.push(`${column} = $${values.length}${cast}`);
  };
  if (patch.state !== undefined) set('state', patch.state);
  if (patch.outcome !== undefined) set('outcome', patch.outcome);
  if (patch.trackerId !== undefined) set('tracker_id', patch.trackerId);
  if (patch.attempts !== undefined) set('attempts', patch.attempts);
  if (patch.completedAt !== undefined) set('completed_at', patch.completedAt);
  if (patch.append?.length) {
    values.push(JSON.stringify(patch.append));
    sets.push(`timeline = timeline || $${values.length}::jsonb`);
  }
  const rows =
    sets.length === 0
      ? await selectRows<DisconnectRow>(db, 'SELECT * FROM disconnects WHERE id = $1', values)
      : await selectRows<DisconnectRow>(db, `UPDATE disconnects SET ${sets.join(', ')} WHERE id = $1 RETURNING *`, values);
  const [row] = rows;
  if (!row) throw new ClientError('not_found', `no such disconnect: ${id}`);
  return toDisconnect(row);
}
