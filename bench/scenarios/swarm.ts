/**
 * The swarm scenarios: a 2 Mbit/s test pattern, source and viewers capped at
 * twice the stream rate, viewers in worker processes over loopback.
 * - swarm: N viewers join one after the other, then `durationS` of stream;
 * - flash-crowd: N viewers start in parallel, spread over 5 s;
 * - churn: every minute 20% of viewers leave and as many new ones join.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createUsers, startBenchSystem, type BenchSystem } from '../lib/bench-system.js';
import type { ViewerReport, WorkerViewerSpec } from '../lib/ipc.js';
import { summarizeProfiles, type ProfileSummary } from '../lib/profile.js';
import { RESULTS_DIR } from '../lib/report.js';
import { sleep } from '../lib/stats.js';
import { measureSwarm, type SwarmResult, type SwarmSamples } from '../lib/swarm-metrics.js';
import { ViewerPool } from '../lib/viewer-pool.js';
import { CrowdSampler, writeDetail } from '../lib/swarm-detail.js';
import { loginDevice } from '../../src/protocol/control-api.js';

export const BITRATE_BPS = 2_000_000;
/** `--device`: logins made at once before the joins (as createUsers makes users), each a scrypt hash at the control server. */
const LOGIN_BATCH = 8;
/** Twice the stream rate, in bytes per second. */
export const CAP = (2 * BITRATE_BPS) / 8;

/** Worker processes for `viewers` at `perWorker` each. */
const workerCount = (viewers: number, perWorker: number): number => Math.max(1, Math.ceil(viewers / perWorker));

/** The viewer workers of a bench run: every viewer on loopback, its upload capped at CAP. */
export function startBenchPool(bench: BenchSystem, viewers: number, perWorker: number, nodeFlags: string[] = [], detail = false): Promise<ViewerPool> {
  return ViewerPool.start({
    workers: workerCount(viewers, perWorker),
    controlUrl: bench.sys.controlUrl,
    program: bench.program,
    uploadRate: CAP,
    host: '127.0.0.1',
    nodeFlags,
    detail,
  });
}

export interface SwarmRunOptions {
  scenario: 'swarm' | 'flash-crowd' | 'churn';
  viewers: number;
  durationS: number;
  perWorker: number;
  /** flash-crowd: all joins spread over this many ms. */
  spreadMs?: number;
  /** churn: share of viewers replaced each minute. */
  churnShare?: number;
  churnEveryS?: number;
  /** swarm and churn: pause between two joins (the e2e test's pace is about 150 ms). */
  joinGapMs?: number;
  profile: boolean;
  /** Trace every viewer and write the worst ones' traces (swarm-detail.ts). */
  detail?: boolean;
  /**
   * Viewers admitted with device credentials (`gatecast login` once, then `watch`: one SHA-256 each at the control
   * server) instead of passwords (a scrypt hash each): how a crowd of logged-in viewers starts at kick-off.
   */
  device?: boolean;
  log: (line: string) => void;
}

export interface SwarmRun {
  result: SwarmResult;
  samples: SwarmSamples;
  profile: ProfileSummary | null;
}

export async function runSwarm(o: SwarmRunOptions): Promise<SwarmRun> {
  const bench = await startBenchSystem({ bitrateBps: BITRATE_BPS, sourceCap: CAP });
  // The main process runs control, tracker and broadcaster: its event-loop delay is theirs.
  const mainLoop = monitorEventLoopDelay({ resolution: 10 });
  mainLoop.enable();
  const profileDir = join(RESULTS_DIR, 'tmp', `profile-${o.scenario}-${Date.now()}`);
  let pool: ViewerPool | null = null;
  let crowd: CrowdSampler | null = null;
  try {
    const churnShare = o.churnShare ?? 0.2;
    const churnEveryS = o.churnEveryS ?? 60;
    const churnRounds = o.scenario === 'churn' ? Math.max(0, Math.floor((o.durationS - churnEveryS / 2) / churnEveryS) + 1) : 0;
    const perRound = Math.round(o.viewers * churnShare);
    const names = Array.from({ length: o.viewers + churnRounds * perRound }, (_, i) => `viewer${i}`);
    o.log(`creating ${names.length} users`);
    const users: WorkerViewerSpec[] = await createUsers(bench.sys, bench.program, names);
    if (o.device) {
      // Logged in beforehand, as viewers are at kick-off: the crowd's admissions then cost no password hash.
      for (let i = 0; i < users.length; i += LOGIN_BATCH) {
        await Promise.all(
          users.slice(i, i + LOGIN_BATCH).map(async (u) => {
            const login = await loginDevice(bench.sys.controlUrl, { user: u.user, password: u.password, label: 'bench' });
            u.device = { device: login.device, secret: login.secret };
          }),
        );
      }
      o.log(`${users.length} device logins made before the joins`);
    }
    if (o.profile) mkdirSync(profileDir, { recursive: true });
    pool = await startBenchPool(bench, o.viewers, o.perWorker, o.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [], o.detail ?? false);
    crowd = o.detail ? new CrowdSampler(() => bench.broadcaster.swarm.uploaded) : null;
    const p = pool;
    const joinFailures: string[] = [];
    const startOne = async (u: WorkerViewerSpec): Promise<void> => {
      try {
        await p.startViewer(u);
      } catch (err) {
        joinFailures.push(`${u.user}: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    let nextUser = 0;
    const take = (n: number): WorkerViewerSpec[] => {
      const part = users.slice(nextUser, nextUser + n);
      nextUser += n;
      return part;
    };

    const t0 = Date.now();
    if (o.scenario === 'flash-crowd') {
      const spread = o.spreadMs ?? 5_000;
      const first = take(o.viewers);
      await Promise.all(first.map((u, i) => sleep((i * spread) / first.length).then(() => startOne(u))));
    } else {
      for (const u of take(o.viewers)) {
        await startOne(u);
        if (o.joinGapMs) await sleep(o.joinGapMs);
      }
    }
    o.log(`${pool.size} viewers joined in ${((Date.now() - t0) / 1000).toFixed(1)} s (${joinFailures.length} failed)`);

    const start = await pool.stats();
    const atWindowStart = new Map(start.viewers.map((r) => [r.session, r]));
    const srcUp0 = bench.broadcaster.swarm.uploaded;
    const srcPieces0 = bench.broadcaster.source.stats.pieces;
    const windowStart = Date.now();
    const departed: ViewerReport[] = [];

    if (o.scenario === 'churn') {
      for (let round = 0; round < churnRounds; round++) {
        const at = (churnEveryS / 2 + round * churnEveryS) * 1000;
        await sleep(Math.max(0, windowStart + at - Date.now()));
        const sessions = pool.sessions();
        const leaving = shuffle(sessions).slice(0, perRound);
        const reports = await Promise.all(leaving.map((sid) => p.stopViewer(sid)));
        for (const r of reports) if (r) departed.push(r);
        const joining = take(perRound);
        await Promise.all(joining.map((u, i) => sleep((i * 1_000) / joining.length).then(() => startOne(u))));
        o.log(`churn round ${round + 1}: ${leaving.length} left, ${joining.length} joined (${pool.size} watching)`);
      }
    }
    await sleep(Math.max(0, windowStart + o.durationS * 1000 - Date.now()));
    const end = await pool.stats();
    const windowS = (Date.now() - windowStart) / 1000;
    const srcUp1 = bench.broadcaster.swarm.uploaded;
    const { result, samples } = measureSwarm({
      scenario: o.scenario,
      bitrateBps: BITRATE_BPS,
      final: end.viewers,
      departed,
      atWindowStart,
      sourceUploadedInWindow: srcUp1 - srcUp0,
      sourceUploadedTotal: srcUp1,
      windowS,
      rssBytes: end.rssBytes,
      joinFailures,
    });
    result.detail['source_pieces_per_s'] = Math.round(((bench.broadcaster.source.stats.pieces - srcPieces0) / windowS) * 100) / 100;
    result.detail['workers'] = workerCount(o.viewers, o.perWorker);
    result.detail['main_rss_mb'] = Math.round(process.memoryUsage().rss / 2 ** 20);
    // What one viewer costs: worker CPU in the window ÷ viewer-seconds (milliseconds of CPU per second of stream).
    result.detail['cpu_ms_per_viewer_s'] = Math.round(((end.cpuUs - start.cpuUs) / 1000 / windowS / Math.max(1, end.viewers.length)) * 10) / 10;
    result.detail['event_loop_delay_ms'] = {
      workers_p99: Math.round(end.loopDelayMs.p99),
      workers_max: Math.round(end.loopDelayMs.max),
      main_p99: Math.round(mainLoop.percentile(99) / 1e6),
      main_max: Math.round(mainLoop.max / 1e6),
    };
    if (crowd) {
      crowd.stop();
      const everyone = [...end.viewers, ...departed];
      const { traces, loop } = await pool.detail();
      const { path, worst } = writeDetail({
        scenario: o.scenario,
        traces,
        workerLoop: loop,
        crowd,
        firstStart: Math.min(...everyone.map((r) => r.startedAt)),
        windowStart,
        continuity: new Map(everyone.map((r, i) => [r.user, samples.continuity[i] ?? 1])),
        worst: 5,
      });
      result.detail['worst_viewers'] = worst;
      result.detail['detail_file'] = path;
      o.log(`wrote ${path}`);
    }
    await pool.close();
    pool = null;
    const profile = o.profile ? summarizeProfiles(profileDir) : null;
    if (profile) result.detail['profile'] = profile;
    return { result, samples, profile };
  } finally {
    crowd?.stop();
    await pool?.close().catch(() => undefined);
    await bench.stop();
    if (o.profile) rmSync(profileDir, { recursive: true, force: true });
  }
}

function shuffle<T>(items: T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}
