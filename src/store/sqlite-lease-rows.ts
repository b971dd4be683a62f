/**
 * What several control servers share in the SQLite store: leases on pending
 * disconnects and the tracker directory. SQLite serves one control server, so
 * nothing races here; the methods exist so that the port, and its compliance
 * suite, are the same as PostgreSQL's (pg-lease-rows.ts).
 */
import type Database from 'better-sqlite3';
import type { TrackerPresence } from '../core/ports.js';
import type { DisconnectRecord } from '../core/types.js';
import { toPresence, type PresenceRow } from './record-rows.js';
import { toDisconnect, type DisconnectRow } from './sqlite-disconnect-rows.js';

/** Arrays go to SQLite as JSON text, read back with json_each. */
const list = (xs: readonly string[] | undefined): string | null => (xs === undefined ? null : JSON.stringify(xs));

export function claimDisconnectRows(
  db: Database.Database,
  owner: string,
  filter: { trackerIds: readonly string[]; ids?: readonly string[] },
  now: number,
  leaseMs: number,
): DisconnectRecord[] {
  const rows = db
    .prepare(
      `UPDATE disconnects SET owner = @owner, lease_until = @until
       WHERE state = 'pending'
         AND tracker_id IN (SELECT value FROM json_each(@trackers))
         AND (@ids IS NULL OR id IN (SELECT value FROM json_each(@ids)))
         AND (owner IS NULL OR owner = @owner OR lease_until IS NULL OR lease_until <= @now)
       RETURNING *`,
    )
    .all({ owner, until: now + leaseMs, trackers: list(filter.trackerIds), ids: list(filter.ids), now }) as DisconnectRow[];
  return rows.map(toDisconnect).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function renewLeaseRows(db: Database.Database, owner: string, now: number, leaseMs: number): string[] {
  const rows = db
    .prepare("UPDATE disconnects SET lease_until = ? WHERE owner = ? AND state = 'pending' RETURNING id")
    .all(now + leaseMs, owner) as Array<{ id: string }>;
  return rows.map((r) => r.id);
}

export function releaseLeaseRows(db: Database.Database, owner: string, ids: readonly string[] | undefined): number {
  return db
    .prepare("UPDATE disconnects SET owner = NULL, lease_until = NULL WHERE owner = ? AND (? IS NULL OR id IN (SELECT value FROM json_each(?)))")
    .run(owner, list(ids), list(ids)).changes;
}

export function putPresenceRow(db: Database.Database, p: TrackerPresence): void {
  db.prepare(
    `INSERT INTO tracker_presence (tracker_id, instance, announce_url, ws_url, connected_at, seen_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (tracker_id) DO UPDATE SET instance = excluded.instance, announce_url = excluded.announce_url,
       ws_url = excluded.ws_url, connected_at = excluded.connected_at, seen_at = excluded.seen_at`,
  ).run(p.trackerId, p.instance, p.announceUrl, p.wsUrl, p.connectedAt, p.seenAt);
}

export function touchPresenceRows(db: Database.Database, instance: string, trackerIds: readonly string[], seenAt: number): void {
  db.prepare('UPDATE tracker_presence SET seen_at = ? WHERE instance = ? AND tracker_id IN (SELECT value FROM json_each(?))').run(
    seenAt,
    instance,
    JSON.stringify(trackerIds),
  );
}

export function deletePresenceRow(db: Database.Database, trackerId: string, instance: string): boolean {
  return db.prepare('DELETE FROM tracker_presence WHERE tracker_id = ? AND instance = ?').run(trackerId, instance).changes > 0;
}

export function selectPresenceRows(db: Database.Database, seenAfter: number): TrackerPresence[] {
  return (db.prepare('SELECT * FROM tracker_presence WHERE seen_at > ? ORDER BY tracker_id').all(seenAfter) as PresenceRow[]).map(toPresence);
}
