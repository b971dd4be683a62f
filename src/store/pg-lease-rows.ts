/**
 * What several control servers share in the PostgreSQL store: leases on
 * pending disconnects (claimed with FOR UPDATE SKIP LOCKED, so two instances
 * claiming at once never both get one, and neither waits for the other) and
 * the tracker directory (which instance each tracker's control link is on).
 */
import type { TrackerPresence } from '../core/ports.js';
import type { DisconnectRecord } from '../core/types.js';
import { toDisconnect, type DisconnectRow } from './pg-disconnect-rows.js';
import { execute, selectRows, type Queryable } from './pg-pool.js';
import { toPresence, type PresenceRow } from './record-rows.js';

export async function claimDisconnectRows(
  db: Queryable,
  owner: string,
  filter: { trackerIds: readonly string[]; ids?: readonly string[] },
  now: number,
  leaseMs: number,
): Promise<DisconnectRecord[]> {
  if (filter.trackerIds.length === 0 || filter.ids?.length === 0) return [];
  const rows = await selectRows<DisconnectRow>(
    db,
    `UPDATE disconnects SET owner = $1, lease_until = $2
     WHERE id IN (
       SELECT id FROM disconnects
       WHERE state = 'pending' AND tracker_id = ANY($3::text[]) AND ($4::text[] IS NULL OR id = ANY($4::text[]))
         AND (owner IS NULL OR owner = $1 OR lease_until IS NULL OR lease_until <= $5)
       FOR UPDATE SKIP LOCKED)
     RETURNING *`,
    [owner, now + leaseMs, [...filter.trackerIds], filter.ids === undefined ? null : [...filter.ids], now],
  );
  return rows.map(toDisconnect).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export async function renewLeaseRows(db: Queryable, owner: string, now: number, leaseMs: number): Promise<string[]> {
  const rows = await selectRows<{ id: string }>(db, "UPDATE disconnects SET lease_until = $1 WHERE owner = $2 AND state = 'pending' RETURNING id", [
    now + leaseMs,
    owner,
  ]);
  return rows.map((r) => r.id);
}

export async function releaseLeaseRows(db: Queryable, owner: string, ids: readonly string[] | undefined): Promise<number> {
  return execute(db, 'UPDATE disconnects SET owner = NULL, lease_until = NULL WHERE owner = $1 AND ($2::text[] IS NULL OR id = ANY($2::text[]))', [
    owner,
    ids === undefined ? null : [...ids],
  ]);
}

export async function putPresenceRow(db: Queryable, p: TrackerPresence): Promise<void> {
  await execute(
    db,
    `INSERT INTO tracker_presence (tracker_id, instance, announce_url, ws_url, connected_at, seen_at) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (tracker_id) DO UPDATE SET instance = excluded.instance, announce_url = excluded.announce_url,
       ws_url = excluded.ws_url, connected_at = excluded.connected_at, seen_at = excluded.seen_at`,
    [p.trackerId, p.instance, p.announceUrl, p.wsUrl, p.connectedAt, p.seenAt],
  );
}

export async function touchPresenceRows(db: Queryable, instance: string, trackerIds: readonly string[], seenAt: number): Promise<void> {
  if (trackerIds.length === 0) return;
  await execute(db, 'UPDATE tracker_presence SET seen_at = $1 WHERE instance = $2 AND tracker_id = ANY($3::text[])', [seenAt, instance, [...trackerIds]]);
}

export async function deletePresenceRow(db: Queryable, trackerId: string, instance: string): Promise<boolean> {
  return (await execute(db, 'DELETE FROM tracker_presence WHERE tracker_id = $1 AND instance = $2', [trackerId, instance])) > 0;
}

export async function selectPresenceRows(db: Queryable, seenAfter: number): Promise<TrackerPresence[]> {
  return (await selectRows<PresenceRow>(db, 'SELECT * FROM tracker_presence WHERE seen_at > $1 ORDER BY tracker_id', [seenAfter])).map(toPresence);
}
