/** What a viewer reports of itself (stats for the status line, the player page and QoE) and how it ended: apart from viewer.ts so its readers need not import the viewer. */
import type { PlaybackStats } from './playback-driver.js';

export type ViewerEnd =
  | { kind: 'kicked'; reason: string }
  | { kind: 'session_ended'; reason: string }
  | { kind: 'stopped'; reason: string };

/** The swarm's and the session's figures, and the player's (PlaybackStats). */
export interface ViewerStats extends PlaybackStats {
  session: string;
  peers: number;
  downBps: number;
  upBps: number;
  bytesFromSource: number;
  bytesFromPeers: number;
  uploaded: number;
  startedAt: number;
  /** When the control server admitted us, and when the tracker listed us (startup's first two steps). */
  admittedAt: number;
  listedAt: number | null;
}
