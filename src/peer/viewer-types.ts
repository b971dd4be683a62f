/** What a viewer reports of itself (stats for the status line, the player page and QoE) and how it ended: apart from viewer.ts so its readers need not import the viewer. */
import type { LatePiece } from './playout-meter.js';

export type ViewerEnd =
  | { kind: 'kicked'; reason: string }
  | { kind: 'session_ended'; reason: string }
  | { kind: 'stopped'; reason: string };

export interface ViewerStats {
  session: string;
  peers: number;
  downBps: number;
  upBps: number;
  bufferS: number;
  bytesFromSource: number;
  bytesFromPeers: number;
  uploaded: number;
  /** Pieces written to the player, and pieces output skipped (they never play). */
  played: number;
  missed: number;
  /** Seqs passed over where the source restarted (never made, or lost with it): not stream, not missed. */
  gapped: number;
  /** The last such gap, [from, to): `to` is the first seq after it. */
  lastGap: { from: number; to: number } | null;
  /** Pieces present by their playback deadline, and pieces that were not (the player stalled or skipped them). */
  onTime: number;
  late: number;
  /** onTime ÷ (onTime + late); 1 before any piece was due. */
  continuity: number;
  /** Milliseconds the player waited for late pieces. */
  stalledMs: number;
  /** How far the player is behind the source (its start lag plus every stall); null before playback. */
  behindLiveMs: number | null;
  /** The last few late pieces: when each was due and when it came (null: skipped). */
  recentLate: LatePiece[];
  startedAt: number;
  /** When the control server admitted us, and when the tracker listed us (startup's first two steps). */
  admittedAt: number;
  listedAt: number | null;
  firstByteAt: number | null;
  /** Piece created at the source → written to the player, ms, for recent pieces. */
  latencyMs: number[];
}
