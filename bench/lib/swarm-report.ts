/** Markdown table and SVG chart for the swarm-like scenarios (swarm, flash-crowd, churn). */
import { mdTable, verdict } from './report.js';
import type { SwarmResult, SwarmSamples } from './swarm-metrics.js';
import type { ProfileSummary } from './profile.js';
import { barPanel, cdfPanel, figure } from './svg.js';

export function swarmMarkdown(r: SwarmResult, cmd: string, profile: ProfileSummary | null): string {
  const contTarget = r.scenario === 'churn' ? 0.99 : 0.995;
  const d = r.detail as Record<string, unknown> & {
    output_continuity: { min: number | null; p5: number | null; mean: number | null };
    stalled_s: { p50: number | null; p95: number | null; max: number | null };
  };
  const rows: Array<Array<string | number | null>> = [
    ['viewers', r.viewers, '', ''],
    ['bitrate_bps', r.bitrate_bps, '', ''],
    ['source_share', r.source_share, r.viewers >= 100 ? '≤ 0.03' : '', r.viewers >= 100 ? verdict(r.source_share, 0.03, 'max') : ''],
    ['continuity.min', r.continuity.min, `≥ ${contTarget}`, verdict(r.continuity.min, contTarget, 'min')],
    ['continuity.p5', r.continuity.p5, '', ''],
    ['continuity.mean', r.continuity.mean, '', ''],
    ['output continuity (played ÷ played + skipped) min / p5 / mean', `${d.output_continuity.min} / ${d.output_continuity.p5} / ${d.output_continuity.mean}`, '', ''],
    ['player stalled, s per viewer, p50 / p95 / max', `${d.stalled_s.p50} / ${d.stalled_s.p95} / ${d.stalled_s.max}`, '', ''],
    ['startup_s.p50', r.startup_s.p50, '≤ 1.0', verdict(r.startup_s.p50, 1.0, 'max')],
    ['startup_s.p95', r.startup_s.p95, '≤ 2.0', verdict(r.startup_s.p95, 2.0, 'max')],
    ['latency_s.p50', r.latency_s.p50, '', ''],
    ['latency_s.p95', r.latency_s.p95, '≤ 1.5', verdict(r.latency_s.p95, 1.5, 'max')],
    ['rss_mb_per_viewer', r.rss_mb_per_viewer, '≤ 40', verdict(r.rss_mb_per_viewer, 40, 'max')],
  ];
  let md = `# ${r.scenario}: ${r.viewers} viewers\n\n\`${cmd}\`\n\n${mdTable(['figure', 'value', 'target', 'verdict'], rows)}\n`;
  md += `\nDetail: \`${JSON.stringify(r.detail)}\`\n`;
  if (profile) {
    md += `\n## Worker CPU profile (${profile.files} workers, busy ${Math.round(profile.busy_share * 100)}% of ${Math.round(profile.total_ms / 1000)} s)\n\n`;
    md += mdTable(['function (self time)', 'ms', 'share of busy'], profile.top_functions.map((f) => [`\`${f.fn}\``, f.self_ms, f.share]));
    md += '\n\n';
    md += mdTable(['file', 'ms', 'share of busy'], profile.top_files.map((f) => [`\`${f.file}\``, f.self_ms, f.share]));
    md += '\n';
  }
  return md;
}

export function swarmSvg(r: SwarmResult, s: SwarmSamples): string {
  const contTarget = r.scenario === 'churn' ? 0.99 : 0.995;
  const sortedCont = [...s.continuity].sort((a, b) => a - b);
  const lo = Math.min(0.9, sortedCont[0] ?? 1);
  const loRounded = Math.floor(lo * 20) / 20;
  return figure(`gatecast ${r.scenario}: ${r.viewers} viewers at ${r.bitrate_bps / 1e6} Mbit/s, source share ${r.source_share}`, [
    barPanel('Continuity per viewer (pieces present by their playback deadline), sorted', 'on time', sortedCont.map((v, i) => ({ label: `#${i + 1}`, value: v })), {
      yMin: loRounded,
      yMax: 1,
      target: contTarget,
      xLabel: `${sortedCont.length} viewers, worst first`,
    }),
    cdfPanel('Startup: watch command → first playable byte', 'seconds', [{ name: 'startup', values: s.startupS.filter(Number.isFinite) }], {
      target: 1.0,
      targetLabel: 'p50 target 1 s',
    }),
    cdfPanel('Latency: piece created at the source → written to the player', 'seconds', [{ name: 'latency', values: s.latencyS }], {
      target: 1.5,
      targetLabel: 'p95 target 1.5 s',
    }),
    barPanel('Share of each viewer\'s bytes that came from the source, sorted', 'from source', [...s.sourceShareByViewer].sort((a, b) => b - a).map((v, i) => ({ label: `#${i + 1}`, value: v })), {
      xLabel: 'viewers, highest first',
    }),
  ]);
}
