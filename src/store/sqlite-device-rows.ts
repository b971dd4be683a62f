/** Device credentials in the SQLite store: the `devices` table ↔ DeviceRecord. */
import type Database from 'better-sqlite3';
import { ClientError } from '../core/errors.js';
import type { DeviceRecord } from '../core/types.js';
import { isForeignKeyViolation, isUniqueViolation } from './sqlite-errors.js';

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

export function insertDevice(db: Database.Database, d: DeviceRecord): void {
  try {
    db.prepare('INSERT INTO devices (id, user, secret_hash, label, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)').run(
      d.id,
      d.user,
      d.secretHash,
      d.label,
      d.createdAt,
      d.expiresAt,
    );
  } catch (err) {
    if (isUniqueViolation(err)) throw new ClientError('conflict', `device ${d.id} already exists`);
    if (isForeignKeyViolation(err)) throw new ClientError('unknown_user', `no such user: ${d.user}`);
    throw err;
  }
}

export function selectDevice(db: Database.Database, id: string): DeviceRecord | undefined {
  const row = db.prepare('SELECT * FROM devices WHERE id = ?').get(id) as DeviceRow | undefined;
  return row && toDevice(row);
}

export function selectDevicesOfUser(db: Database.Database, user: string): DeviceRecord[] {
  return (db.prepare('SELECT * FROM devices WHERE user = ? ORDER BY created_at, rowid').all(user) as DeviceRow[]).map(toDevice);
}

export function deleteDeviceRow(db: Database.Database, id: string): boolean {
  return db.prepare('DELETE FROM devices WHERE id = ?').run(id).changes > 0;
}

/** Deletes the user's devices (only those expired at `expiredAt` when given); returns how many. */
export function deleteDeviceRowsOfUser(db: Database.Database, user: string, expiredAt: number | null): number {
  return db.prepare('DELETE FROM devices WHERE user = @user AND (@at IS NULL OR expires_at <= @at)').run({ user, at: expiredAt }).changes;
}
