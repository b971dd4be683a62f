/** Users, programs and subscriptions in the SQLite store: their rows ↔ domain records. */
import type { Program, Subscription, User } from '../core/types.js';

export interface UserRow {
  name: string;
  password_hash: string;
  is_admin: number;
  created_at: number;
  max_sessions: number | null;
}
export interface ProgramRow {
  id: string;
  title: string;
  bitrate_bps: number;
  length_s: number | null;
  source_public_key: string;
  source_private_key: string;
  packets_per_piece: number;
  created_at: number;
}
export interface SubscriptionRow {
  user: string;
  program: string;
  until: number | null;
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
export const toProgram = (r: ProgramRow): Program => ({
  id: r.id,
  title: r.title,
  bitrateBps: r.bitrate_bps,
  lengthS: r.length_s,
  sourcePublicKey: r.source_public_key,
  sourcePrivateKey: r.source_private_key,
  packetsPerPiece: r.packets_per_piece,
  createdAt: r.created_at,
});
export const toSubscription = (r: SubscriptionRow): Subscription => ({
  user: r.user,
  program: r.program,
  until: r.until,
  createdAt: r.created_at,
  maxSessions: r.max_sessions,
});
