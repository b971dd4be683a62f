/**
 * Rows whose columns are the same on SQLite and PostgreSQL (programs,
 * subscriptions, trackers' credentials, the tracker directory) and their
 * domain records: one mapping for both adapters. Rows that differ by engine
 * (a user's `is_admin`: 0/1 against a boolean) stay with their adapter.
 */
import type { TrackerCredential, TrackerPresence } from '../core/ports.js';
import type { Program, Subscription } from '../core/types.js';

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

export interface TrackerCredentialRow {
  id: string;
  secret_hash: string;
  created_at: number;
  revoked_at: number | null;
}

export interface PresenceRow {
  tracker_id: string;
  instance: string;
  announce_url: string;
  ws_url: string;
  connected_at: number;
  seen_at: number;
}

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

export const toCredential = (r: TrackerCredentialRow): TrackerCredential => ({
  id: r.id,
  secretHash: r.secret_hash,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

export const toPresence = (r: PresenceRow): TrackerPresence => ({
  trackerId: r.tracker_id,
  instance: r.instance,
  announceUrl: r.announce_url,
  wsUrl: r.ws_url,
  connectedAt: r.connected_at,
  seenAt: r.seen_at,
});
