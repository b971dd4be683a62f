/**
 * `--detail` for the swarm scenarios: the crowd second by second (viewers
 * stalling, late pieces, who is unchoked by nobody, the source's upload,
 * event-loop delay in the main process and the workers) and the full traces
 * (viewer-trace.ts) of the worst viewers, written to
 * bench/results/<scenario>-detail-<timestamp>.json. Times there are seconds
 * since the first viewer started.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { RESULTS_DIR } from './report.js';
import { median, round } from './stats.js';
import { AGE_BUCKETS, WAIT_BUCKETS_MS, type SeqTrace, type TraceSample, type ViewerTraceReport } from './viewer-trace.js';

/** Samples the main process each second: the source's upload and this event loop's delay. */
export class CrowdSampler {
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly timer: NodeJS.Timeout;
  private last: number;
  readonly seconds: Array<{ at: number; sourceB: number; mainP99: number; mainMax: number }> = [];

  constructor(private readonly sourceUploaded: () => number) {
    this.last = sourceUploaded();
    this.loop.enable();
    this.timer = setInterval(() => {
      const up = this.sourceUploaded();
      this.seconds.push({ at: Date.now(), sourceB: up - this.last, mainP99: Math.round(this.loop.percentile(99) / 1e6), mainMax: Math.round(this.loop.max / 1e6) });
      this.last = up;
      this.loop.reset();
    }, 1_000);
  }

  stop(): void {
    clearInterval(this.timer);
    this.loop.disable();
  }
}

export interface DetailInput {
  scenario: string;
  traces: ViewerTraceReport[];
  workerLoop: Array<Array<[number, number, number]>>;
  crowd: CrowdSampler;
  firstStart: number;
  windowStart: number;
  /** Continuity over the measured window, by user. */
  continuity: Map<string, number>;
  worst: number;
}

const sec = (at: number, t0: number): number => round((at - t0) / 1000, 2) ?? 0;

/** Seconds in which a viewer stalled (its stall time grew by ≥ 200 ms), as [from, to] runs. */
function stallRuns(samples: TraceSample[], t0: number): Array<[number, number, number]> {
  const runs: Array<[number, number, number]> = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1] as TraceSample;
    const b = samples[i] as TraceSample;
    const grew = b.stalledMs - a.stalledMs + (b.late - a.late) * 130;
    if (grew < 200) continue;
    const last = runs[runs.length - 1];
    const t = sec(b.at, t0);
    if (last && t - last[1] <= 1.5) {
      last[1] = t;
      last[2] += grew;
    } else runs.push([sec(a.at, t0), t, grew]);
  }
  return runs.map(([a, b, ms]) => [a, b, Math.round(ms)]);
}

/** A worst viewer in brief: how it stalled and what its late pieces had in common. */
function summary(r: ViewerTraceReport, continuity: number | undefined, t0: number): Record<string, unknown> {
  const late = r.late.filter((l) => l.trace);
  const viaSourceOnly = late.filter((l) => (l.trace?.requests.length ?? 0) > 0 && l.trace?.requests.every((q) => q[2])).length;
  const neverAsked = late.filter((l) => (l.trace?.requests.length ?? 0) === 0).length;
  const waits = late.flatMap((l) => {
    const t = l.trace;
    const firstAsk = t?.requests[0]?.[1];
    return t?.firstHaveAt != null && firstAsk !== undefined ? [firstAsk - t.firstHaveAt] : [];
  });
  return {
    user: r.user,
    continuity,
    late_pieces: r.late.length,
    stalls: stallRuns(r.samples, t0),
    late_never_asked: neverAsked,
    late_asked_only_of_source: viaSourceOnly,
    late_holders_median: median(late.map((l) => l.trace?.holders ?? 0)),
    late_have_to_first_request_ms_median: median(waits),
    chokes: Object.values(r.chokedBy).reduce((a, b) => a + b, 0),
    unchoked_by_median: median(r.samples.map((s) => s.unchokedBy)),
  };
}

/** Writes the detail file; returns the worst viewers' summaries (for the result's JSON) and the file's path. */
export function writeDetail(d: DetailInput): { path: string; worst: Array<Record<string, unknown>> } {
  const t0 = d.firstStart;
  const ranked = [...d.traces].sort((a, b) => (d.continuity.get(a.user) ?? 1) - (d.continuity.get(b.user) ?? 1));
  const worst = ranked.slice(0, d.worst);
  // The crowd per second: how many viewers stalled in it, and what the source and the event loops did.
  const bySecond = new Map<number, { stalling: number; late: number; unchokedByNone: number; unchoked: number[]; fromSourceB: number; stallingNoHolder: number }>();
  for (const r of d.traces) {
    for (let i = 1; i < r.samples.length; i++) {
      const a = r.samples[i - 1] as TraceSample;
      const b = r.samples[i] as TraceSample;
      const t = Math.floor((b.at - t0) / 1000);
      let s = bySecond.get(t);
      if (!s) bySecond.set(t, (s = { stalling: 0, late: 0, unchokedByNone: 0, unchoked: [], fromSourceB: 0, stallingNoHolder: 0 }));
      if (b.stalledMs - a.stalledMs >= 200 || b.late > a.late) {
        s.stalling++;
        if (b.headHolders === 0) s.stallingNoHolder++;
      }
      s.late += b.late - a.late;
      if (b.unchokedBy === 0) s.unchokedByNone++;
      s.unchoked.push(b.unchokedBy);
      s.fromSourceB += b.fromSourceB;
    }
  }
  const workerMax = new Map<number, number>();
  for (const w of d.workerLoop) for (const [at, , mx] of w) {
    const t = Math.floor((at - t0) / 1000);
    workerMax.set(t, Math.max(workerMax.get(t) ?? 0, mx));
  }
  const main = new Map(d.crowd.seconds.map((c) => [Math.floor((c.at - t0) / 1000), c]));
  const crowd = [...bySecond.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([t, s]) => ({
      t,
      stalling: s.stalling,
      // ...of which no viewer peer held the piece at their playhead (behind the crowd: only the source has it).
      stalling_no_viewer_holder: s.stallingNoHolder,
      late: s.late,
      unchoked_by_none: s.unchokedByNone,
      unchoked_by_median: median(s.unchoked),
      viewers_from_source_kB: Math.round(s.fromSourceB / 1000),
      source_up_kB: main.has(t) ? Math.round((main.get(t)?.sourceB ?? 0) / 1000) : null,
      main_loop_p99_ms: main.get(t)?.mainP99 ?? null,
      main_loop_max_ms: main.get(t)?.mainMax ?? null,
      worker_loop_max_ms: workerMax.get(t) ?? null,
    }));
  const piece = (t: SeqTrace | null): Record<string, unknown> => ({
    first_have: t?.firstHaveAt == null ? null : sec(t.firstHaveAt, t0),
    first_source_have: t?.firstSourceHaveAt == null ? null : sec(t.firstSourceHaveAt, t0),
    holders: t?.holders ?? null,
    requests: t?.requests.map(([p, at, src]) => [p, sec(at, t0), src]) ?? [],
    released: t?.released.map(([why, p, at]) => [why, p, sec(at, t0)]) ?? [],
    got: t?.gotAt == null ? null : sec(t.gotAt, t0),
    got_from: t?.gotFrom ?? null,
  });
  const relative = (r: ViewerTraceReport): unknown => ({
    ...r,
    start: r.start === null ? null : { ...r.start, at: sec(r.start.at, t0) },
    samples: r.samples.map((s) => ({ ...s, at: sec(s.at, t0) })),
    late: r.late.map((l) => ({ seq: l.seq, due: sec(l.dueAt, t0), arrived: l.arrivedAt === null ? null : sec(l.arrivedAt, t0), ...piece(l.trace) })),
    head: r.head.map((t) => ({ seq: t.seq, ...piece(t) })),
  });
  const summaries = worst.map((r) => summary(r, d.continuity.get(r.user), t0));
  // Every relay's upload-queue waits, summed: rows by the piece's age when asked, columns by the wait.
  const relayWaits = AGE_BUCKETS.map((_, a) => WAIT_BUCKETS_MS.map((_, w) => d.traces.reduce((s, r) => s + (r.relayWaits[a]?.[w] ?? 0), 0)));
  const path = join(RESULTS_DIR, `${d.scenario}-detail-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, `${JSON.stringify({ window_start_s: sec(d.windowStart, t0), crowd, relay_waits: { age_lt: AGE_BUCKETS.map(String), wait_lt_ms: WAIT_BUCKETS_MS.map(String), blocks: relayWaits }, worst: summaries, traces: worst.map(relative) })}\n`);
  return { path, worst: summaries };
}
