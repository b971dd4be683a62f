/**
 * Ports: the storage interfaces the servers depend on. Adapters in store/
 * implement them; each port has one compliance suite run against every adapter.
 * Also the types of the collaborators the composition root hands in: web
 * servers and client trust (their implementations live in cli/).
 */
import type { RequestListener, Server } from 'node:http';
import type { DeviceRecord, DisconnectRecord, Program, SessionRecord, Subscription, TimelineEntry, User } from './types.js';

/** Fields of a disconnect that change after it is created; `append` adds timeline entries in the same write. */
export type DisconnectPatch = Partial<Pick<DisconnectRecord, 'state' | 'outcome' | 'trackerId' | 'attempts' | 'completedAt'>> & {
  append?: TimelineEntry[];
};

export interface ControlStore {
  /** Applies pending migrations; idempotent. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  createUser(user: User): Promise<void>;
  getUser(name: string): Promise<User | undefined>;
  listUsers(): Promise<User[]>;
  setUserPassword(name: string, passwordHash: string): Promise<void>;
  /** Sets (null: clears) the user's concurrent-session limit. Unknown user: ClientError unknown_user. */
  setUserMaxSessions(name: string, maxSessions: number | null): Promise<void>;
  deleteUser(name: string): Promise<boolean>;

  createProgram(program: Program): Promise<void>;
  getProgram(id: string): Promise<Program | undefined>;
  listPrograms(): Promise<Program[]>;
  deleteProgram(id: string): Promise<boolean>;
  /** Replaces the program's source public key and erases any private key held. Unknown program: ClientError unknown_program. */
  setProgramSourceKey(id: string, sourcePublicKey: string): Promise<void>;

  /** Creates or replaces the user's subscription to the program. */
  putSubscription(sub: Subscription): Promise<void>;
  getSubscription(user: string, program: string): Promise<Subscription | undefined>;
  listSubscriptions(filter?: { user?: string; program?: string }): Promise<Subscription[]>;
  deleteSubscription(user: string, program: string): Promise<boolean>;

  createSession(session: SessionRecord): Promise<void>;
  getSession(id: string): Promise<SessionRecord | undefined>;
  /** Sessions not ended, or all of them; with `includeEnded`, `endedAfter` keeps only ended ones whose end (epoch ms) is later. */
  listSessions(filter?: { user?: string; program?: string; includeEnded?: boolean; endedAfter?: number }): Promise<SessionRecord[]>;
  updateSession(id: string, patch: Partial<Omit<SessionRecord, 'id'>>): Promise<void>;

  /** Disconnects (step A–E), durable so pending ones resume after a restart. */
  createDisconnect(d: DisconnectRecord): Promise<void>;
  getDisconnect(id: string): Promise<DisconnectRecord | undefined>;
  /** Newest first; `pending` keeps only those not completed; `limit` caps the count. */
  listDisconnects(filter?: { pending?: boolean; sid?: string; limit?: number }): Promise<DisconnectRecord[]>;
  /** Patches and appends atomically; returns the record after the change. Unknown id: ClientError not_found. */
  updateDisconnect(id: string, patch: DisconnectPatch): Promise<DisconnectRecord>;

  /**
   * Leases on pending disconnects, so that with several control servers on one database exactly one live instance
   * drives each (docs/ARCHITECTURE.md, "Several control servers"). Claims the pending disconnects addressed to one
   * of `trackerIds` (and, with `ids`, only those) whose lease is free, already `owner`'s, or expired at `now`:
   * each becomes `owner`'s until `now + leaseMs`. Returns those claimed, oldest first (then by id). Two owners racing never
   * both get one (PostgreSQL: FOR UPDATE SKIP LOCKED).
   */
  claimDisconnects(owner: string, filter: { trackerIds: readonly string[]; ids?: readonly string[] }, now: number, leaseMs: number): Promise<DisconnectRecord[]>;
  /** Extends to `now + leaseMs` every lease `owner` holds on a pending disconnect; returns their ids (one taken over is not among them). */
  renewDisconnectLeases(owner: string, now: number, leaseMs: number): Promise<string[]>;
  /** Gives up `owner`'s leases on `ids` (on all its disconnects when absent), so another instance may claim them at once; returns how many. */
  releaseDisconnects(owner: string, ids?: readonly string[]): Promise<number>;

  /**
   * The cluster-wide tracker directory: which control server instance each tracker is linked to. put on the
   * tracker's hello (the newest hello wins), touch refreshes `seenAt` of the rows `instance` holds, delete removes
   * a row only if `instance` still holds it; list keeps rows seen after `seenAfter` (older ones are stale: their
   * instance died without removing them).
   */
  putTrackerPresence(p: TrackerPresence): Promise<void>;
  touchTrackerPresence(instance: string, trackerIds: readonly string[], seenAt: number): Promise<void>;
  deleteTrackerPresence(trackerId: string, instance: string): Promise<boolean>;
  listTrackerPresence(seenAfter: number): Promise<TrackerPresence[]>;

  /** Device credentials (`gatecast login`); a removed user's devices go with it. */
  createDevice(device: DeviceRecord): Promise<void>;
  getDevice(id: string): Promise<DeviceRecord | undefined>;
  /** The user's devices, oldest first, expired ones included. */
  listDevices(user: string): Promise<DeviceRecord[]>;
  deleteDevice(id: string): Promise<boolean>;
  /** Deletes every device of the user, or only those expired at `expiredAt` (epoch ms); returns how many. */
  deleteDevicesOfUser(user: string, filter?: { expiredAt?: number }): Promise<number>;

  /**
   * Trackers' own control-link credentials (issue 12): one per tracker id, only sha256(secret) kept. create refuses
   * (ClientError conflict) an id whose credential is live, and replaces a revoked one (a new secret for the same
   * tracker id); revoke sets `revokedAt` (false: unknown or already revoked). list: oldest first, revoked ones too.
   */
  createTrackerCredential(c: TrackerCredential): Promise<void>;
  getTrackerCredential(id: string): Promise<TrackerCredential | undefined>;
  listTrackerCredentials(): Promise<TrackerCredential[]>;
  revokeTrackerCredential(id: string, at: number): Promise<boolean>;

  /** Small named secrets that must survive restarts (the token signing key). */
  getSecret(name: string): Promise<string | undefined>;
  putSecret(name: string, value: string): Promise<void>;
}

/** A tracker's own credential on the control link (ControlStore.createTrackerCredential). */
export interface TrackerCredential {
  /** The tracker id it is for: the only id a tracker presenting it may claim in its hello. */
  id: string;
  /** Hex SHA-256 of the secret; the secret itself is shown once and never stored. */
  secretHash: string;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms of its revocation; null while valid. */
  revokedAt: number | null;
}

/** One tracker in the cluster-wide directory (ControlStore.putTrackerPresence). */
export interface TrackerPresence {
  trackerId: string;
  /** The control server instance its control link is on (--instance-id). */
  instance: string;
  announceUrl: string;
  wsUrl: string;
  /** Epoch ms of its hello. */
  connectedAt: number;
  /** Epoch ms its instance last said it still holds the link. */
  seenAt: number;
}

/**
 * Announces a new pending disconnect to every control server instance, so the one holding its tracker's link
 * claims and drives it at once (the periodic claim sweep is the backstop for a lost notice). On PostgreSQL the
 * store's insert itself sends the NOTIFY, in the insert's transaction (store/pg-disconnect-notices.ts).
 */
export interface DisconnectNotices {
  /** Tells every subscriber (in every instance) that disconnect `id` is pending. */
  publish(id: string): Promise<void>;
  /** `onNotice` for each announced id; `onGap` after a lost connection is back (notices may have been missed meanwhile). */
  subscribe(onNotice: (id: string) => void, onGap?: () => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Whether notices can be heard now (PostgreSQL: the LISTEN connection is up); absent: always (in-process). */
  readonly listening?: boolean;
}

export interface SwarmPeer {
  /** Session id: the peer's identity in the swarm. */
  sid: string;
  user: string;
  peerId: string; // 20 bytes, hex
  ip: string;
  port: number;
  role: 'viewer' | 'source';
  /** Epoch ms of the last announce or heartbeat. */
  lastSeen: number;
}

export interface SwarmStore {
  /** Adds or refreshes a peer; true if it was new. */
  put(infoHash: string, peer: SwarmPeer): Promise<boolean>;
  get(infoHash: string, sid: string): Promise<SwarmPeer | undefined>;
  remove(infoHash: string, sid: string): Promise<boolean>;
  /** Up to `n` peers chosen at random, never `excludeSid`. */
  sample(infoHash: string, n: number, excludeSid: string | null): Promise<SwarmPeer[]>;
  list(infoHash: string): Promise<SwarmPeer[]>;
  count(infoHash: string): Promise<{ seeders: number; leechers: number }>;
  /** Removes and returns peers last seen before `cutoff`. */
  expire(cutoff: number): Promise<Array<{ infoHash: string; peer: SwarmPeer }>>;
  close(): Promise<void>;
}

/**
 * Makes the HTTP(S) servers the control server, the tracker and the playback
 * server listen with. The composition root (cli/web-server.ts) builds it with
 * the TLS identity and the header/request/keep-alive deadlines; components
 * only call it, so none of them creates a socket it was not handed the means for.
 */
export interface WebServerFactory {
  /** The URL scheme the servers it makes speak: what a component announces (https → wss for WebSockets). */
  readonly scheme: 'http' | 'https';
  create(handler: RequestListener): Server;
}

/** The part of fetch a control API client uses; undici's fetch and Node's global one both fit. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

/**
 * Which servers a client trusts, as a value handed to every client (control
 * API calls, tracker channel, control link) rather than a process-wide setting.
 * The command line builds it from --ca (cli/trust.ts).
 */
export interface ClientTrust {
  /** The `ca` option of a TLS client (ws); undefined: Node's defaults (its roots plus NODE_EXTRA_CA_CERTS). */
  readonly ca: string[] | undefined;
  /** fetch that verifies servers against the same certificates. */
  readonly fetch: FetchLike;
}

/** One revoked session as the trackers sharing a RevocationStore learn it (each keeps a cache: tracker/revocations.ts). */
export interface RevocationRecord {
  sid: string;
  /** Epoch ms of the revocation. */
  at: number;
  /** The control server's disconnect id, when a kick revoked it. */
  ref: string | null;
  /** The kick's reason, when a kick revoked it. */
  reason: string | null;
  /** The session's program; null when the revoking tracker never saw the session: listed to every program. */
  program: string | null;
  /** Listed to peers until then (epoch ms): past it, no token of the session is valid. */
  until: number;
  /** The store forgets it then (epoch ms). */
  keepUntil: number;
}

/**
 * The revocation list shared by trackers (issue 12): what one tracker shares
 * reaches every other tracker subscribed to the same store within
 * milliseconds, and a tracker that lost the store for a while is handed
 * everything it missed once it is back. Memory (tracker/revocation-memory.ts):
 * trackers of one process; Redis (store/redis-revocation-store.ts): every
 * tracker on that Redis.
 */
export interface RevocationStore {
  /** Shares a revocation with every subscriber; kept and retried until stored, so it never throws. */
  share(r: RevocationRecord): void;
  /**
   * Starts delivering to `onRevoked`: every revocation held now, then each one
   * shared by any tracker (this one's too), and everything held again after a
   * lost connection comes back. Resolves once the first load was delivered.
   */
  subscribe(onRevoked: (r: RevocationRecord) => void): Promise<void>;
  /** For /health: whether the store can be reached now, and how many shared revocations wait to be stored. */
  status(): { reachable: boolean; backlog: number };
  close(): Promise<void>;
}
