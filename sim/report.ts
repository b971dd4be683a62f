/**
 * The simulator's figures, computed by the bench's own code
 * (bench/lib/swarm-metrics.ts) from the same per-viewer reports, so the
 * keys and their meaning are the bench's: `source_share`,
 * `continuity{min,p5,mean}`, `startup_s{p50,p95}`, `latency_s{p50,p95}`.
 * Per-viewer lists are left out of the detail (10,000 rows); the run's own
 * costs (wall time, virtual time, events, peak RSS) are added.
 */
import type { ViewerReport } from '../bench/lib/ipc.js';
import { measureSwarm, type SwarmResult } from '../bench/lib/swarm-metrics.js';
import type { LinkProfile } from './links.js';

export interface SimCosts {
  wall_s: number;
  /** CPU time of the process (user + system): the wall time on a machine shared with other work is larger. */
  cpu_s: number;
  virtual_s: number;
  events: number;
  peak_rss_mb: number;
}

export type SimResult = SwarmResult & SimCosts & { seed: number; links: LinkProfile };

export interface SimMeasureInput {
  scenario: string;
  bitrateBps: number;
  final: ViewerReport[];
  departed: ViewerReport[];
  atWindowStart: Map<string, ViewerReport>;
  sourceUploadedInWindow: number;
  sourceUploadedTotal: number;
  windowS: number;
  /** Extra figures of the simulated network and engine for the detail. */
  detail: Record<string, unknown>;
}

/** Detail keys that list every viewer: dropped from the output. */
const PER_VIEWER_KEYS = ['per_viewer', 'recent_late', 'never_played', 'join_failures'];

export function simResult(input: SimMeasureInput, costs: SimCosts, seed: number, links: LinkProfile, perViewer = false): SimResult {
  const { result } = measureSwarm({
    scenario: input.scenario,
    bitrateBps: input.bitrateBps,
    final: input.final,
    departed: input.departed,
    atWindowStart: input.atWindowStart,
    sourceUploadedInWindow: input.sourceUploadedInWindow,
    sourceUploadedTotal: input.sourceUploadedTotal,
    windowS: input.windowS,
    rssBytes: 0,
    joinFailures: [],
  });
  const detail: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(result.detail)) if (perViewer || !PER_VIEWER_KEYS.includes(k)) detail[k] = v;
  const neverPlayed = result.detail['never_played'];
  detail['never_played_count'] = Array.isArray(neverPlayed) ? neverPlayed.length : 0;
  Object.assign(detail, input.detail);
  // RSS per viewer means the bench's worker processes; here one process holds everyone: see peak_rss_mb.
  return { ...result, rss_mb_per_viewer: null, detail, ...costs, seed, links };
}

/** The figures a person reads first, one line each. */
export function summaryLines(r: SimResult): string[] {
  const d = r.detail as { startup_parts_p50_s?: unknown; behind_live_s?: unknown; stalled_s?: unknown };
  return [
    `${r.scenario}: ${r.viewers} viewers, links ${r.links.name} (access ${r.links.accessMs.join('–')} ms, uplink ${r.links.viewerUpX ? `${r.links.viewerUpX.join('–')}× the bitrate` : 'unmodelled'}, loss ${r.links.loss}, turn ${r.links.turnMs} ms), seed ${r.seed}`,
    `source_share ${r.source_share}`,
    `continuity min / p5 / mean ${r.continuity.min} / ${r.continuity.p5} / ${r.continuity.mean}`,
    `startup_s p50 / p95 ${r.startup_s.p50} / ${r.startup_s.p95}   parts p50 ${JSON.stringify(d.startup_parts_p50_s)}`,
    `latency_s p50 / p95 ${r.latency_s.p50} / ${r.latency_s.p95}   behind live ${JSON.stringify(d.behind_live_s)}`,
    `stalled_s ${JSON.stringify(d.stalled_s)}`,
    `virtual ${r.virtual_s} s in ${r.wall_s} s wall (${r.cpu_s} s CPU), ${r.events} events, peak RSS ${r.peak_rss_mb} MB`,
  ];
}
