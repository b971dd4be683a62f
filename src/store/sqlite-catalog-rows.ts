/** Users in the SQLite store: their rows ↔ domain records (is_admin is 0/1 here; programs and subscriptions: record-rows.ts). */
import type { User } from '../core/types.js';

export interface UserRow {
  name: string;
  password_hash: string;
  is_admin: number;
  created_at: number;
  max_sessions: number | null;
}
export const toUser = (r: UserRow): User => ({
  name: r.name,
  passwordHash: r.password_hash,
  isAdmin: r.is_admin === 1,
  createdAt: r.created_at,
  maxSessions: r.max_sessions,
});
