/** What a PiecePicker is given: its options (defaults from DEFAULTS.peer), and the shapes of a pass's peers and answers. */
import { DEFAULTS } from '../core/config.js';
import { BLOCK } from './picker-requests.js';

export interface PiecePickerOptions {
  /** A request unanswered this long is released so another peer can serve it. */
  requestTimeoutMs?: number;
  /** Pieces due within this horizon of the playhead are urgent. */
  urgencyHorizonMs?: number;
  /** The source is asked for a piece a viewer also has only when it is due within this. */
  sourceUrgencyMs?: number;
  /** A piece already in flight may be asked of a second peer when due within this ("endgame")... */
  endgameMs?: number;
  /** ...and when the first request has been outstanding at least this long. */
  endgameAfterMs?: number;
  /** At most this many peers are asked for one piece at once. */
  maxRequestsPerPiece?: number;
  /** Pieces further than this beyond the playhead are not picked (bounds the work per pick). */
  maxLookahead?: number;
  /** A viewer's have or window further than this beyond the live edge is ignored: no honest viewer is that far ahead (the source may be, after a restart). */
  maxLeap?: number;
  /** Bytes per piece: a request is for all of its 16 KiB blocks (default: one block). */
  pieceLength?: number;
}

export interface AssignPeer {
  key: string;
  /** Requests this peer may have outstanding at once, counting those already sent. */
  maxInFlight: number;
  isSource: boolean;
}

export interface RequestRef {
  seq: number;
  peerKey: string;
}

const P = DEFAULTS.peer;
export const DEFAULT_OPTIONS: Required<PiecePickerOptions> = {
  requestTimeoutMs: P.requestTimeoutMs,
  urgencyHorizonMs: P.urgencyHorizonMs,
  sourceUrgencyMs: P.sourceUrgencyMs,
  endgameMs: P.endgameMs,
  endgameAfterMs: P.endgameAfterMs,
  maxRequestsPerPiece: P.maxRequestsPerPiece,
  maxLookahead: P.maxLookahead,
  maxLeap: P.maxLeap,
  pieceLength: BLOCK,
};
