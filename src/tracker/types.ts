/**
 * The tracker's inner contracts: what an announce carries through the hook
 * pipeline, what the tracker remembers per session, and the narrow doors to
 * the control link and to a client's WebSocket channel.
 */
import type { AccessClaims } from '../core/token.js';
import type { SwarmPeer } from '../core/ports.js';
import type { AnnounceRequest } from '../protocol/announce.js';
import type { TrackerToClient } from '../protocol/tracker-channel.js';

export type Transport = 'http' | 'ws';

/** A client's open WebSocket channel, as the logic sees it: somewhere to push messages. */
export interface ChannelHandle {
  send(msg: TrackerToClient): void;
  /** False once the socket is closing or closed: pushes to it stop. */
  readonly open: boolean;
}

/** What the logic passes on of a client's answers to the tracker's pushes. */
export interface PushAnswers {
  /** A client acked a push on `channel` (only `revoked` pushes wait for acks). */
  acked(channel: ChannelHandle, id: string): void;
  /** The session a disconnect id was sent to, while the tracker still holds it. */
  sidOf(disconnectId: string): string | undefined;
}

export interface AnnounceContext {
  /** The normalized request, whichever front end parsed it. */
  readonly req: AnnounceRequest;
  /** The address the request came from (never taken from the request itself). */
  readonly ip: string;
  readonly transport: Transport;
  /** WebSocket only: the channel, and the session it is already bound to (or proved the key of). */
  readonly channel: ChannelHandle | null;
  readonly channelSid: string | null;
  /**
   * WebSocket only: the channel's challenge and the announce's signature over
   * it (null: none sent); `memo` is the channel's: what its last proof that
   * verified covered, so an identical re-announce is not verified again.
   */
  readonly proof?: { nonce: string; sig: string | null; memo: { last: string | null } };
  /** Set by the token hook. */
  claims?: AccessClaims;
  /** Set by the possession hook once the proof checked out, even if a later hook refuses the announce. */
  proven?: AccessClaims;
  /** Set by the response hook. */
  response?: AnnounceOutcome;
}

export interface AnnounceOutcome {
  interval: number;
  minInterval: number;
  complete: number;
  incomplete: number;
  peers: SwarmPeer[];
  claims: AccessClaims;
  /** WebSocket only: the program's recent revocations (Revocations.list); empty over HTTP. */
  revoked: string[];
}

/** Runs before the answer; throwing a ClientError stops the chain and becomes the answer. */
export type PreHook = (ctx: AnnounceContext) => Promise<void>;
/** Runs once the answer is settled: the writes. */
export type PostHook = (ctx: AnnounceContext & { claims: AccessClaims }) => Promise<void>;

/** Why a session left the swarm, as reported to the control server (step D). */
export type LeaveReason = 'stopped' | 'timeout' | 'expired' | 'evicted' | 'revoked';

/** Where joins and leaves go: the control link, retried until acked. */
export interface SessionReporter {
  join(j: { sid: string; ip: string; port: number; at: number }): void;
  leave(l: { sid: string; reason: string; ref?: string; at: number }): void;
}

/** What the tracker keeps per session it serves. */
export interface TrackedSession {
  sid: string;
  user: string;
  program: string;
  role: 'viewer' | 'source';
  infoHash: string;
  peerId: string;
  ip: string;
  port: number;
  transport: Transport;
  /** No announce or heartbeat for this long: gone. */
  timeoutMs: number;
  lastSeen: number;
  /** Epoch ms when the held token expires; without renewal the session ends then. */
  tokenExpiresAt: number;
  /** The token's lifetime (exp − iat): how long a token issued to it just before a revocation stays valid. */
  tokenLifetimeMs: number;
  /** The token's client key (`ckey`): a renewed token must name the same one. */
  clientKey: string;
  channel: ChannelHandle | null;
}
