/** Domain records shared by every room. Plain data: no behaviour, no I/O. */

export interface User {
  name: string;
  passwordHash: string;
  isAdmin: boolean;
  createdAt: number;
  /** Concurrent sessions this user may hold (null or absent: DEFAULTS.maxSessionsPerUser). */
  maxSessions?: number | null;
}

/**
 * A device credential from `gatecast login`: admits its user without a
 * password until it expires or is revoked (revocation deletes it). Only a
 * SHA-256 of the secret is kept: the secret is 256 random bits, so a fast
 * hash is enough and checking it costs no scrypt.
 */
export interface DeviceRecord {
  id: string;
  user: string;
  /** sha256(secret), hex. */
  secretHash: string;
  /** What the device called itself at login (host name), for the operator. */
  label: string;
  createdAt: number;
  expiresAt: number;
}

export interface Program {
  id: string;
  title: string;
  bitrateBps: number;
  /** Seconds, or null for a live program with no planned end. */
  lengthS: number | null;
  /** Ed25519 public key of the program's source, raw 32 bytes as base64url. */
  sourcePublicKey: string;
  /**
   * '' for every program made now: the control server never makes nor holds a
   * program's private key. Non-empty only in rows from before (PKCS#8 DER,
   * base64url); such a program is refused a source admission until rekeyed, and
   * the key is never handed out.
   */
  sourcePrivateKey: string;
  packetsPerPiece: number;
  createdAt: number;
}

export interface Subscription {
  user: string;
  program: string;
  /** Epoch ms, or null for no expiry. */
  until: number | null;
  createdAt: number;
  /** Overrides the user's session limit when admitting to this program (null or absent: the user's). */
  maxSessions?: number | null;
}

export type SessionState = 'admitted' | 'joined' | 'ended';

export interface SessionRecord {
  id: string;
  user: string;
  program: string;
  role: 'viewer' | 'source';
  /** The per-session client key the token is bound to (raw Ed25519, base64url). */
  clientKey: string;
  state: SessionState;
  /** Where the client joined the swarm from, as the tracker saw it. */
  ip: string | null;
  port: number | null;
  trackerId: string | null;
  createdAt: number;
  joinedAt: number | null;
  endedAt: number | null;
  endReason: string | null;
}

/** One tracker as the program metadata names it. */
export interface TrackerEndpoint {
  /** BEP 3 HTTP announce URL, with this session's token in its query. */
  announce: string;
  /** gatecast's WebSocket channel. */
  ws: string;
}

/**
 * What an admitted client learns about a program (step b), and what it parses
 * to join the swarm (step c). Field names are the JSON API's.
 */
export interface ProgramMetadata {
  program: string;
  title: string;
  /** SHA-1 of "gatecast-live:" + program id + ":" + source key, hex: the swarm's BitTorrent info hash. */
  info_hash: string;
  /** The tracker this client should use first (the first of `trackers`): kept for clients from before `trackers`. */
  tracker: TrackerEndpoint;
  /**
   * Every tracker connected to the control server, the preferred one first. They
   * share one swarm (a Redis swarm store), so a client whose tracker channel is
   * lost moves to the next one (wrapping around) with the same session and token.
   * Absent from control servers older than issue 12: then `tracker` alone.
   */
  trackers?: TrackerEndpoint[];
  /**
   * BEP 12's `announce-list` for stock BitTorrent clients: tiers of HTTP announce
   * URLs (each with this session's token). One tier holding every tracker, the
   * preferred first: trackers of a tier share the swarm. Absent as `trackers` is.
   */
  announce_list?: string[][];
  /** Program length in seconds; null while live with no planned end. */
  length_s: number | null;
  /** Total data size in bytes; null for a live program (unbounded). */
  data_size: number | null;
  bitrate_bps: number;
  piece_length: number;
  packets_per_piece: number;
  /** Source's Ed25519 public key (raw, base64url): verifies every piece. */
  source_key: string;
  /** Control server's Ed25519 public key (JWK x, base64url): verifies every token. */
  control_key: string;
}

export interface AdmissionResult {
  session: string;
  token: string;
  token_expires_at: number;
  metadata: ProgramMetadata;
}

export type DisconnectState = 'pending' | 'completed';

/**
 * How a disconnect ended: the client said `stopped`; the tracker timed it out;
 * the tracker did not hold it (`revoked`); a reconnecting tracker no longer
 * listed it (`lost`); it had never joined a swarm (`not_joined`); or the
 * tracker gave another reason (`gone`, the reason is in the timeline).
 */
export type DisconnectOutcome = 'stopped' | 'timeout' | 'revoked' | 'lost' | 'not_joined' | 'gone';

/** One step of a disconnect's chain (steps A–E, docs/ARCHITECTURE.md): command_sent, tracker_ack, client_stopped, client_timeout, control_ack, … */
export interface TimelineEntry {
  /** Epoch ms. */
  at: number;
  event: string;
  detail?: string;
}

/** A control server's order to end one session (step A), kept until the tracker reports the session gone (step E). */
export interface DisconnectRecord {
  id: string;
  sid: string;
  user: string;
  program: string;
  /** The operator's reason, shown to the viewer. */
  reason: string;
  state: DisconnectState;
  outcome: DisconnectOutcome | null;
  /** The tracker the command goes to. */
  trackerId: string | null;
  /** Times the command was handed to a connected tracker. */
  attempts: number;
  createdAt: number;
  completedAt: number | null;
  timeline: TimelineEntry[];
}
