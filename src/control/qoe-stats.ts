/**
 * A program's QoE aggregates from its viewers' latest reports: pure, so the
 * figures can be checked without a server or a clock.
 */
import type { Qoe } from '../protocol/qoe.js';

export interface ProgramQoeStats {
  /** Open viewer sessions of the program. */
  viewers: number;
  /** Of those, the ones whose latest report is fresh (the figures below are theirs). */
  reporting: number;
  continuityMedian: number | null;
  continuityWorst: number | null;
  startupMedianS: number | null;
  stalledMedianS: number | null;
  behindLiveMedianS: number | null;
  /** Reporting viewers further behind live than the threshold. */
  behindLiveOver: number;
  /** Bytes from peers ÷ all bytes downloaded, summed over the reporting viewers; null before any byte. */
  fromPeersShare: number | null;
  downBps: number;
  upBps: number;
  /** What the source uploads to the reporting viewers (the sum of their rates from it). */
  sourceBps: number;
  peersMedian: number | null;
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

const present = (v: number | null): v is number => v !== null;

/** `viewers`: how many open viewer sessions the program has; `reports`: the fresh reports of those sessions. */
export function aggregateQoe(viewers: number, reports: Qoe[], behindLiveThresholdS: number): ProgramQoeStats {
  const continuity = reports.map((r) => r.continuity);
  const behind = reports.map((r) => r.behind_live_s).filter(present);
  let fromPeers = 0;
  let total = 0;
  let downBps = 0;
  let upBps = 0;
  let sourceBps = 0;
  for (const r of reports) {
    fromPeers += r.bytes_from_peers;
    total += r.bytes_from_peers + r.bytes_from_source;
    downBps += r.down_bps;
    upBps += r.up_bps;
    sourceBps += r.from_source_bps;
  }
  return {
    viewers,
    reporting: reports.length,
    continuityMedian: median(continuity),
    continuityWorst: continuity.length === 0 ? null : continuity.reduce((a, b) => Math.min(a, b)),
    startupMedianS: median(reports.map((r) => r.startup_s).filter(present)),
    stalledMedianS: median(reports.map((r) => r.stalled_s)),
    behindLiveMedianS: median(behind),
    behindLiveOver: behind.filter((b) => b > behindLiveThresholdS).length,
    fromPeersShare: total === 0 ? null : fromPeers / total,
    downBps,
    upBps,
    sourceBps,
    peersMedian: median(reports.map((r) => r.peers)),
  };
}
