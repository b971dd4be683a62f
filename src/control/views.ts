/** Domain records → the admin API's JSON (snake_case, ISO times, never a private key). */
import { pieceLength } from '../core/piece.js';
import type { DisconnectRecord, Program, SessionRecord, Subscription, User } from '../core/types.js';
import { iso, isoOrNull } from './dates.js';
import { dataSize, programInfoHash } from './metadata.js';
import { isSubscriptionActive } from './admission.js';
import type { DisconnectView, ProgramView, SessionQoeView, SessionView, SubscriptionView, UserView } from './schemas.js';
import type { TrackerInfo } from './tracker-registry.js';

export const userView = (u: User): UserView => ({ name: u.name, is_admin: u.isAdmin, created_at: iso(u.createdAt), max_sessions: u.maxSessions ?? null });

export const programView = (p: Program): ProgramView => ({
  id: p.id,
  title: p.title,
  bitrate_bps: p.bitrateBps,
  length_s: p.lengthS,
  data_size: dataSize(p),
  packets_per_piece: p.packetsPerPiece,
  piece_length: pieceLength(p.packetsPerPiece),
  info_hash: programInfoHash(p),
  source_key: p.sourcePublicKey,
  created_at: iso(p.createdAt),
});

export const subscriptionView = (s: Subscription, now: number): SubscriptionView => ({
  user: s.user,
  program: s.program,
  until: isoOrNull(s.until),
  active: isSubscriptionActive(s, now),
  created_at: iso(s.createdAt),
  max_sessions: s.maxSessions ?? null,
});

/** `qoe`: the session's latest report (QoeBoard.view), null until its first. */
export const sessionView = (s: SessionRecord, qoe: SessionQoeView | null): SessionView => ({
  id: s.id,
  user: s.user,
  program: s.program,
  role: s.role,
  state: s.state,
  ip: s.ip,
  port: s.port,
  tracker: s.trackerId,
  since: iso(s.createdAt),
  joined_at: isoOrNull(s.joinedAt),
  ended_at: isoOrNull(s.endedAt),
  end_reason: s.endReason,
  qoe,
});

export const trackerView = (t: TrackerInfo): { id: string; announce_url: string; ws_url: string; connected_at: string } => ({
  id: t.id,
  announce_url: t.announceUrl,
  ws_url: t.wsUrl,
  connected_at: iso(t.connectedAt),
});

export const disconnectView = (d: DisconnectRecord): DisconnectView => ({
  id: d.id,
  session: d.sid,
  user: d.user,
  program: d.program,
  reason: d.reason,
  state: d.state,
  outcome: d.outcome,
  tracker: d.trackerId,
  attempts: d.attempts,
  created_at: iso(d.createdAt),
  completed_at: isoOrNull(d.completedAt),
  duration_ms: d.completedAt === null ? null : d.completedAt - d.createdAt,
  timeline: d.timeline.map((e) => ({
    event: e.event,
    at: iso(e.at),
    ms: e.at - d.createdAt,
    ...(e.detail === undefined ? {} : { detail: e.detail }),
  })),
});
