/** Trackers' control-link credentials in the PostgreSQL store (as sqlite-tracker-credential-rows.ts). */
import { ClientError } from '../core/errors.js';
import type { TrackerCredential } from '../core/ports.js';
import { execute, selectRows, type Queryable } from './pg-pool.js';
import { toCredential, type TrackerCredentialRow } from './record-rows.js';

/** A new credential, or a new secret for an id whose credential was revoked; a live one is a conflict. */
export async function insertTrackerCredential(db: Queryable, c: TrackerCredential): Promise<void> {
  const changes = await execute(
    db,
    `INSERT INTO tracker_credentials (id, secret_hash, created_at, revoked_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, created_at = excluded.created_at, revoked_at = excluded.revoked_at
     WHERE tracker_credentials.revoked_at IS NOT NULL`,
    [c.id, c.secretHash, c.createdAt, c.revokedAt],
  );
  if (changes === 0) throw new ClientError('conflict', `tracker ${c.id} already has a credential; remove it first`);
}

export async function selectTrackerCredential(db: Queryable, id: string): Promise<TrackerCredential | undefined> {
  const [row] = await selectRows<TrackerCredentialRow>(db, 'SELECT * FROM tracker_credentials WHERE id = $1', [id]);
  return row && toCredential(row);
}

export async function selectTrackerCredentials(db: Queryable): Promise<TrackerCredential[]> {
  return (await selectRows<TrackerCredentialRow>(db, 'SELECT * FROM tracker_credentials ORDER BY created_at, seq')).map(toCredential);
}

export async function revokeTrackerCredentialRow(db: Queryable, id: string, at: number): Promise<boolean> {
  return (await execute(db, 'UPDATE tracker_credentials SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id])) > 0;
}
