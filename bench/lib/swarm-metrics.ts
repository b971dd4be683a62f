/**
 * From viewer reports to the JSON keys. Continuity is the viewer's
 * own: the share of pieces present by their playback deadline (PlayoutMeter),
 * counted over the measured window like source_share; the whole run, join
 * phase included, is in detail.continuity_whole_run.
 * A viewer that never played counts as continuity 0 and startup ∞ (the meter
 * reports 1 before any piece is due, which would hide it).
 */
import type { ViewerReport } from './ipc.js';
import { max, mean, min, percentile, round } from './stats.js';

export interface SwarmResult {
  scenario: string;
  viewers: number;
  bitrate_bps: number;
  source_share: number | null;
  continuity: { min: number | null; p5: number | null; mean: number | null };
  startup_s: { p50: number | null; p95: number | null };
  latency_s: { p50: number | null; p95: number | null };
  rss_mb_per_viewer: number | null;
  detail: Record<string, unknown>;
}

export interface SwarmSamples {
  continuity: number[];
  /** Per viewer: played ÷ (played + skipped) at the output, which ignores stalls. */
  output: number[];
  startupS: number[];
  latencyS: number[];
  sourceShareByViewer: number[];
}

export interface MeasureInput {
  scenario: string;
  bitrateBps: number;
  /** Viewers at the end of the run (still watching). */
  final: ViewerReport[];
  /** Viewers that left during the measured window, with their last report. */
  departed: ViewerReport[];
  /** Reports at the start of the measured window, by session. */
  atWindowStart: Map<string, ViewerReport>;
  sourceUploadedInWindow: number;
  sourceUploadedTotal: number;
  windowS: number;
  rssBytes: number;
  joinFailures: string[];
}

const received = (r: ViewerReport): number => r.bytesFromSource + r.bytesFromPeers;
const spread = (v: number[]): { p50: number | null; p95: number | null; max: number | null } => ({
  p50: round(percentile(v, 50)),
  p95: round(percentile(v, 95)),
  max: round(max(v)),
});

export function measureSwarm(input: MeasureInput): { result: SwarmResult; samples: SwarmSamples } {
  const everyone = [...input.final, ...input.departed];
  // Over the measured window, like source_share: the pieces judged since the window opened.
  const share = (onTime: number, late: number): number => (onTime + late === 0 ? 1 : onTime / (onTime + late));
  const continuity = everyone.map((r) => {
    if (r.firstByteAt === null) return 0;
    const before = input.atWindowStart.get(r.session);
    return share(r.onTime - (before?.onTime ?? 0), r.late - (before?.late ?? 0));
  });
  const continuityWholeRun = everyone.map((r) => (r.firstByteAt === null ? 0 : r.continuity));
  const output = everyone.map((r) => {
    const due = r.played + r.missed;
    return r.firstByteAt === null ? 0 : due === 0 ? 1 : r.played / due;
  });
  const stalledS = everyone.map((r) => r.stalledMs / 1000);
  const behindLiveS = input.final.flatMap((r) => (r.behindLiveMs === null ? [] : [r.behindLiveMs / 1000]));
  const firstStart = min(everyone.map((r) => r.startedAt));
  const startupS = everyone.map((r) => (r.firstByteAt === null ? Infinity : (r.firstByteAt - r.startedAt) / 1000));
  const latencyS: number[] = [];
  let receivedInWindow = 0;
  let receivedTotal = 0;
  let fromSourceTotal = 0;
  for (const r of everyone) {
    const before = input.atWindowStart.get(r.session);
    receivedInWindow += received(r) - (before ? received(before) : 0);
    receivedTotal += received(r);
    fromSourceTotal += r.bytesFromSource;
    // Latency samples of the window only (the viewer keeps its last ~1000-2000).
    const skip = before && r.latencyMs.length >= before.latencyMs.length ? before.latencyMs.length : 0;
    for (const ms of r.latencyMs.slice(skip)) latencyS.push(ms / 1000);
  }
  const sourceShareByViewer = everyone.map((r) => (received(r) > 0 ? r.bytesFromSource / received(r) : 1));
  const streamBytesPerS = input.bitrateBps / 8;
  const neverPlayed = everyone.filter((r) => r.firstByteAt === null).map((r) => r.user);
  const result: SwarmResult = {
    scenario: input.scenario,
    viewers: input.final.length,
    bitrate_bps: input.bitrateBps,
    source_share: receivedInWindow > 0 ? round(input.sourceUploadedInWindow / receivedInWindow, 4) : null,
    continuity: { min: round(min(continuity), 4), p5: round(percentile(continuity, 5), 4), mean: round(mean(continuity), 4) },
    startup_s: { p50: round(percentile(startupS, 50)), p95: round(percentile(startupS, 95)) },
    latency_s: { p50: round(percentile(latencyS, 50)), p95: round(percentile(latencyS, 95)) },
    rss_mb_per_viewer: input.final.length > 0 ? round(input.rssBytes / 2 ** 20 / input.final.length, 1) : null,
    detail: {
      window_s: input.windowS,
      viewers_total: everyone.length,
      departed: input.departed.length,
      join_failures: input.joinFailures,
      never_played: neverPlayed,
      source_share_whole_run: receivedTotal > 0 ? round(input.sourceUploadedTotal / receivedTotal, 4) : null,
      source_copies_in_window: round(input.sourceUploadedInWindow / (streamBytesPerS * input.windowS), 2),
      bytes_received_from_source_share: receivedTotal > 0 ? round(fromSourceTotal / receivedTotal, 4) : null,
      continuity_whole_run: {
        min: round(min(continuityWholeRun), 4),
        p5: round(percentile(continuityWholeRun, 5), 4),
        mean: round(mean(continuityWholeRun), 4),
      },
      output_continuity: { min: round(min(output), 4), p5: round(percentile(output, 5), 4), mean: round(mean(output), 4) },
      // Where each player is at the end, behind the source: start lag plus stalls (what a viewer would call its delay).
      behind_live_s: spread(behindLiveS),
      stalled_s: spread(stalledS),
      late_pieces_total: everyone.reduce((s, r) => s + r.late, 0),
      // The last late pieces of each viewer: [viewer, seq, due (s after the run's first viewer start), ms late or null if skipped].
      recent_late: everyone.flatMap((r, i) =>
        r.recentLate.map((l) => [i, l.seq, round((l.dueAt - firstStart) / 1000, 2), l.arrivedAt === null ? null : Math.round(l.arrivedAt - l.dueAt)]),
      ),
      on_time_pieces_total: everyone.reduce((s, r) => s + r.onTime, 0),
      startup_s_max: round(max(startupS)),
      // Where startup goes: admission (program request), tracker (announce), peers (dial, handshake, first pieces, preroll).
      startup_parts_p50_s: {
        admission: round(percentile(everyone.map((r) => (r.admittedAt - r.startedAt) / 1000), 50)),
        tracker: round(percentile(everyone.filter((r) => r.listedAt !== null).map((r) => ((r.listedAt ?? 0) - r.admittedAt) / 1000), 50)),
        peers: round(percentile(everyone.filter((r) => r.firstByteAt !== null && r.listedAt !== null).map((r) => ((r.firstByteAt ?? 0) - (r.listedAt ?? 0)) / 1000), 50)),
      },
      latency_s_max: round(max(latencyS)),
      latency_samples: latencyS.length,
      missed_pieces_total: everyone.reduce((s, r) => s + r.missed, 0),
      played_pieces_total: everyone.reduce((s, r) => s + r.played, 0),
      per_viewer: everyone.map((r) => ({
        user: r.user,
        startup_s: r.firstByteAt === null ? null : round((r.firstByteAt - r.startedAt) / 1000),
        played: r.played,
        missed: r.missed,
        on_time: r.onTime,
        late: r.late,
        stalled_s: round(r.stalledMs / 1000),
        from_source_kb: Math.round(r.bytesFromSource / 1000),
        from_peers_kb: Math.round(r.bytesFromPeers / 1000),
        uploaded_kb: Math.round(r.uploaded / 1000),
        peers: r.peers,
      })),
      peers_per_viewer_mean: round(mean(input.final.map((r) => r.peers)), 1),
      upload_per_viewer_mbps_mean_in_window: round(
        mean(input.final.map((r) => ((r.uploaded - (input.atWindowStart.get(r.session)?.uploaded ?? 0)) * 8) / 1e6 / Math.max(1, input.windowS))),
        2,
      ),
    },
  };
  return { result, samples: { continuity, output, startupS, latencyS, sourceShareByViewer } };
}
