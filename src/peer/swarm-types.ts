/** A Swarm's shapes: what it is given (identity, collaborators, limits), what it tells, and what it keeps per peer. */
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { OutageView } from '../core/outage.js';
import type { LivePiece } from '../core/piece.js';
import type { TokenVerifier } from '../protocol/token.js';
import type { PeerConnection } from './peer-connection.js';
import type { RateMeter } from './rate-meter.js';

export interface SwarmOptions {
  infoHash: Buffer;
  program: string;
  peerId: Buffer;
  /** Our own session id: never dial ourselves. */
  sid: string;
  role: 'viewer' | 'source';
  token: () => string;
  clientKey: KeyObject;
  verifier: TokenVerifier;
  /** Our view of a control outage: peers' tokens are honored past expiry while it lasts (core/outage.ts). */
  outage?: OutageView;
  clock: Clock;
  /** Verifies every piece. */
  sourceKey: KeyObject;
  pieceLength: number;
  /** Milliseconds of stream per piece (measured by the viewer as it plays). */
  pieceIntervalMs: () => number;
  windowCapacity: number;
  maxPeers: number;
  uploadSlots: number;
  /** Upload cap in bytes per second; null for none. */
  uploadRate: number | null;
  /** Requests one peer may have outstanding, in pieces. */
  maxInFlight?: number;
  /** Source only: peers told of a new piece at once; the others hear of it from them, or later. */
  sourceTier?: number;
  sourceHaveDelayMs?: number;
  /** A revoked peer's connection is closed after this (nothing is sent to it meanwhile). */
  revokeGraceMs?: number;
  /** A viewer asks the source for a piece other viewers hold only when it is due within this. */
  sourceUrgencyMs?: number;
  /**
   * Inbound sockets not yet authenticated (Noise handshake and token exchange
   * under way), at most, in total and per remote address: apart from maxPeers,
   * so idle sockets can neither fill the peer slots nor stop us dialing out.
   * DEFAULTS.peerPendingMax / peerPendingPerAddress.
   */
  pendingMax?: number;
  pendingPerAddress?: number;
  /** DEFAULTS.peerChannelTimeoutMs and peerAuthTimeoutMs. */
  channelTimeoutMs?: number;
  authTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface SwarmEvents {
  /** A verified piece arrived from the network. */
  piece: [LivePiece, { fromSource: boolean }];
  /** A peer sent a piece that failed verification; it was dropped and banned. */
  banned: [{ sid: string; reason: string }];
  peer: [{ sid: string; user: string; role: 'viewer' | 'source' }];
  'peer-left': [{ sid: string; reason: string }];
  /** A peer told us it is leaving (step C), before it closed. */
  leaving: [{ sid: string; reason: string }];
}

export interface Peer {
  key: string;
  conn: PeerConnection;
  sid: string;
  isSource: boolean;
  received: RateMeter;
  /** Pieces this peer is known to hold (so we don't send it a redundant have). */
  known: Set<number>;
  /** Its socket is full: nothing more is queued to it until it drains (a peer that never reads costs us nothing). */
  blocked: boolean;
}
