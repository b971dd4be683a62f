/**
 * What the player page shows over the video (peers, share from peers,
 * continuity, behind live) and, once the session is over, why: a small
 * figure set made from the viewer's stats, pushed to the page as server-sent
 * events (playback-server.ts). The page renders every field as text.
 */
import type { ViewerEnd, ViewerStats } from './viewer-types.js';

/** How a session ended, as the page says it: `message` is the sentence `watch` also prints. */
export interface PlaybackEnd {
  kind: ViewerEnd['kind'];
  reason: string;
  message: string;
}

export interface PlayerStatus {
  state: 'starting' | 'playing' | 'ended';
  session: string | null;
  peers: number;
  /** Share (0..1) of downloaded bytes that came from other viewers; null before any. */
  fromPeersShare: number | null;
  /** Pieces there by their playback deadline ÷ pieces due (1 before any was due). */
  continuity: number;
  /** How far the viewer's output is behind the source, seconds; null before playback. */
  behindLiveS: number | null;
  bufferS: number;
  stalledS: number;
  downBps: number;
  upBps: number;
  end: PlaybackEnd | null;
}

const round = (v: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round((Number.isFinite(v) ? v : 0) * f) / f;
};

/** The page's figures from the viewer's stats (null: not admitted yet). */
export function playerStatus(stats: ViewerStats | null, end: PlaybackEnd | null): PlayerStatus {
  if (!stats) {
    return { state: end ? 'ended' : 'starting', session: null, peers: 0, fromPeersShare: null, continuity: 1, behindLiveS: null, bufferS: 0, stalledS: 0, downBps: 0, upBps: 0, end };
  }
  const total = stats.bytesFromPeers + stats.bytesFromSource;
  return {
    state: end ? 'ended' : stats.firstByteAt === null ? 'starting' : 'playing',
    session: stats.session,
    peers: stats.peers,
    fromPeersShare: total > 0 ? round(stats.bytesFromPeers / total, 3) : null,
    continuity: round(stats.continuity, 4),
    behindLiveS: stats.behindLiveMs === null ? null : round(stats.behindLiveMs / 1000, 1),
    bufferS: round(stats.bufferS, 1),
    stalledS: round(stats.stalledMs / 1000, 1),
    downBps: Math.round(stats.downBps),
    upBps: Math.round(stats.upBps),
    end,
  };
}
