/** Trackers' control-link credentials in the SQLite store: the `tracker_credentials` table ↔ TrackerCredential. */
import type Database from 'better-sqlite3';
import { ClientError } from '../core/errors.js';
import type { TrackerCredential } from '../core/ports.js';
import { toCredential, type TrackerCredentialRow } from './record-rows.js';

/** A new credential, or a new secret for an id whose credential was revoked; a live one is a conflict. */
export function insertTrackerCredential(db: Database.Database, c: TrackerCredential): void {
  const changes = db
    .prepare(
      `INSERT INTO tracker_credentials (id, secret_hash, created_at, revoked_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, created_at = excluded.created_at, revoked_at = excluded.revoked_at
       WHERE tracker_credentials.revoked_at IS NOT NULL`,
    )
    .run(c.id, c.secretHash, c.createdAt, c.revokedAt).changes;
  if (changes === 0) throw new ClientError('conflict', `tracker ${c.id} already has a credential; remove it first`);
}

export function selectTrackerCredential(db: Database.Database, id: string): TrackerCredential | undefined {
  const row = db.prepare('SELECT * FROM tracker_credentials WHERE id = ?').get(id) as TrackerCredentialRow | undefined;
  return row && toCredential(row);
}

export function selectTrackerCredentials(db: Database.Database): TrackerCredential[] {
  return (db.prepare('SELECT * FROM tracker_credentials ORDER BY created_at, rowid').all() as TrackerCredentialRow[]).map(toCredential);
}

export function revokeTrackerCredentialRow(db: Database.Database, id: string, at: number): boolean {
  return db.prepare('UPDATE tracker_credentials SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id).changes > 0;
}
