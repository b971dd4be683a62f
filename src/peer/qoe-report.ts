/**
 * A viewer's QoE report for its tracker heartbeats (protocol/qoe.ts), made
 * from its stats. Every figure is clamped to the schema's bounds: a report the
 * tracker could not parse would cost the heartbeat that carries it.
 */
import { clampFinite, QOE_LIMITS, type Qoe } from '../protocol/qoe.js';
import type { ViewerStats } from './viewer-types.js';

const SAFE = Number.MAX_SAFE_INTEGER;

const seconds = (ms: number): number => clampFinite(ms / 1000, 0, QOE_LIMITS.maxSeconds);
const bps = (v: number): number => clampFinite(v, 0, QOE_LIMITS.maxBps);
const bytes = (v: number): number => Math.round(clampFinite(v, 0, SAFE));
/** Three decimals are plenty and keep heartbeats short. */
const round3 = (v: number): number => Math.round(v * 1000) / 1000;

/**
 * Makes reports from successive stats; remembers the previous one to tell the
 * rate of bytes from the source over the period between reports.
 */
export class QoeReporter {
  private last: { at: number; fromSource: number } | null = null;

  report(s: ViewerStats, now: number): Qoe {
    const fromPeers = bytes(s.bytesFromPeers);
    const fromSource = bytes(s.bytesFromSource);
    const total = fromPeers + fromSource;
    let fromSourceBps = 0;
    if (this.last && now > this.last.at) fromSourceBps = ((fromSource - this.last.fromSource) * 8 * 1000) / (now - this.last.at);
    this.last = { at: now, fromSource };
    return {
      continuity: round3(clampFinite(s.continuity, 0, 1, 1)),
      stalled_s: round3(seconds(s.stalledMs)),
      startup_s: s.firstByteAt === null ? null : round3(seconds(s.firstByteAt - s.startedAt)),
      behind_live_s: s.behindLiveMs === null ? null : round3(seconds(s.behindLiveMs)),
      down_bps: Math.round(bps(s.downBps)),
      up_bps: Math.round(bps(s.upBps)),
      from_peers_share: total === 0 ? null : round3(clampFinite(fromPeers / total, 0, 1)),
      peers: Math.round(clampFinite(s.peers, 0, QOE_LIMITS.maxPeers)),
      bytes_from_peers: fromPeers,
      bytes_from_source: fromSource,
      bytes_uploaded: bytes(s.uploaded),
      from_source_bps: Math.round(bps(fromSourceBps)),
    };
  }
}
