/** Device credentials in the PostgreSQL store: the `devices` table ↔ DeviceRecord (as sqlite-device-rows.ts). */
import { ClientError } from '../core/errors.js';
import type { DeviceRecord } from '../core/types.js';
import { isPgForeignKeyViolation, isPgUniqueViolation } from './pg-errors.js';
import { execute, selectRows, type Queryable } from './pg-pool.js';

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

export async function insertDevice(db: Queryable, d: DeviceRecord): Promise<void> {
  try {
    await execute(db, 'INSERT INTO devices (id, "user", secret_hash, label, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)', [
      d.id,
      d.user,
      d.secretHash,
      d.label,
      d.createdAt,
      d.expiresAt,
    ]);
  } catch (err) {
    if (isPgUniqueViolation(err)) throw new ClientError('conflict', `device ${d.id} already exists`);
    if (isPgForeignKeyViolation(err)) throw new ClientError('unknown_user', `no such user: ${d.user}`);
    throw err;
  }
}

export async function selectDevice(db: Queryable, id: string): Promise<DeviceRecord | undefined> {
  const [row] = await selectRows<DeviceRow>(db, 'SELECT * FROM devices WHERE id = $1', [id]);
  return row && toDevice(row);
}

export async function selectDevicesOfUser(db: Queryable, user: string): Promise<DeviceRecord[]> {
  return (await selectRows<DeviceRow>(db, 'SELECT * FROM devices WHERE "user" = $1 ORDER BY created_at, seq', [user])).map(toDevice);
}

export async function deleteDeviceRow(db: Queryable, id: string): Promise<boolean> {
  return (await execute(db, 'DELETE FROM devices WHERE id = $1', [id])) > 0;
}

/** Deletes the user's devices (only those expired at `expiredAt` when given); returns how many. */
export async function deleteDeviceRowsOfUser(db: Queryable, user: string, expiredAt: number | null): Promise<number> {
  return execute(db, 'DELETE FROM devices WHERE "user" = $1 AND ($2::bigint IS NULL OR expires_at <= $2)', [user, expiredAt]);
}
