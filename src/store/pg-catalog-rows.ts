/** Users in the PostgreSQL store: their rows ↔ the domain records (is_admin is a boolean here; programs and subscriptions: record-rows.ts). */
import type { User } from '../core/types.js';

export interface UserRow {
  name: string;
  password_hash: string;
  is_admin: boolean;
  created_at: number;
  max_sessions: number | null;
}
export const toUser = (r: UserRow): User => ({
  name: r.name,
  passwordHash: r.password_hash,
  isAdmin: r.is_admin,
  createdAt: r.created_at,
  maxSessions: r.max_sessions,
});
