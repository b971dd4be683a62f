/** A Swarm's shapes: what it is given (identity, collaborators, limits), what it tells, and what it keeps per peer. */
import type { Clock } from '../core/clock.js';
import type { DEFAULTS } from '../core/config.js';
import type { LivePiece } from '../core/piece.js';
import type { PieceCheck } from './piece-check.js';
import type { RateMeter } from './rate-meter.js';
import type { SeqSet } from './seq-set.js';
import type { PeerLink, Transport } from './transport.js';
import type { UploadTarget } from './uploader.js';

/** The peer engine's timings and limits (DEFAULTS.peer). */
export type PeerSettings = { -readonly [K in keyof typeof DEFAULTS.peer]: (typeof DEFAULTS.peer)[K] };

export interface SwarmOptions {
  /** Our own session id: never dial ourselves; the tie-break between duplicate connections. */
  sid: string;
  role: 'viewer' | 'source';
  clock: Clock;
  /** How peers are reached: TCP (tcp-transport.ts), or in memory (memory-transport.ts). */
  transport: Transport;
  /** Checks a complete piece (signedPieceCheck for real); a throw bans its sender. */
  checkPiece: PieceCheck;
  pieceLength: number;
  /** Milliseconds of stream per piece (measured by the viewer as it plays). */
  pieceIntervalMs: () => number;
  windowCapacity: number;
  maxPeers: number;
  uploadSlots: number;
  /** Upload cap in bytes per second; null for none. */
  uploadRate: number | null;
  /** Source only: peers told of a new piece at once (DEFAULTS.peer.sourceTier). */
  sourceTier?: number;
  /** A revoked peer's connection is closed after this (nothing is sent to it meanwhile). DEFAULTS.revokeGraceMs. */
  revokeGraceMs?: number;
  /** Uniform in [0, 1) for the choker's tie-breaks (Math.random by default; the simulator's is seeded). */
  random?: () => number;
  /** Timings and limits over DEFAULTS.peer, for a test or the simulator. */
  peer?: Partial<PeerSettings>;
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
  link: PeerLink;
  sid: string;
  isSource: boolean;
  received: RateMeter;
  /** Pieces this peer is known to hold (so we don't send it a redundant have): a Set<number>'s answers in a ring of bits. */
  known: SeqSet;
  /** Its send buffer is full: nothing more is queued to it until it drains (a peer that never reads costs us nothing). */
  blocked: boolean;
  /** Where the uploader sends its blocks: made at its first request, then reused. */
  upload: UploadTarget | null;
}
