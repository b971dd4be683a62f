/**
 * Beyond one process (issue 12): announce throughput of one tracker on the
 * memory store, one on Redis and two on one Redis (HTTP with wrk, one new
 * connection per request, the same mix as the tracker scenario, and over
 * WebSocket channels), opentracker side by side, and admissions per second
 * of one and two control servers sharing one PostgreSQL database. Every
 * server is a real `gatecast` process started through the CLI, so each has
 * a core of its own as in production; on a 2-core machine the load
 * generators share those cores, which the figures must be read against.
 *
 * PostgreSQL and Redis are the machine's own (GATECAST_BENCH_PG_URL,
 * GATECAST_BENCH_REDIS_URL; defaults 127.0.0.1, database `test`, Redis
 * database 9); the run works in a schema of its own and under the trackers'
 * key prefix in that Redis database, and removes both afterwards. A row
 * whose engine or tool is missing is skipped with the reason.
 */
import { fork } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createSchema } from '../../src/cli/cluster-system.js';
import { adminClient, type AdminClient } from '../../src/cli/control-client.js';
import { SWARM_KEY_PREFIX } from '../../src/cli/swarm-store.js';
import { CHANNEL_PATH } from '../../src/tracker/ws-frontend.js';
import { rawPublicKey } from '../../src/core/piece.js';
import { loginDevice, requestProgram } from '../../src/protocol/control-api.js';
import type { AdmissionLoadResult, AdmissionLoadSpec } from '../lib/admission-load.js';
import { crossInstanceKicks, type CrossKickFigures } from '../lib/cluster-kicks.js';
import type { MixEntry } from '../lib/announce-mix.js';
import { clearRedisPrefix, clusterEnv, pgProblem, redisProblem, startControl, startTracker, type ClusterEnv, type Proc } from '../lib/cluster-procs.js';
import { startOpentracker } from '../lib/opentracker.js';
import { ensureDebianTool, type InstallPolicy } from '../lib/prerequisites.js';
import { mdTable, verdict } from '../lib/report.js';
import { percentile, round } from '../lib/stats.js';
import { barPanel, figure } from '../lib/svg.js';
import { runWrk } from '../lib/wrk.js';

const PROGRAMS = 4;
const USERS = 25;
const WRK_CONNECTIONS = 50;
const WS_CHANNELS = 50;
const ADMISSION_USERS = 20;
const KICKS = 20;

export const BENCH_PG_URL = process.env['GATECAST_BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
export const BENCH_REDIS_URL = process.env['GATECAST_BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379/9';

/** One tracker layout's announce rates; null where not measured (see detail.skipped). */
export interface AnnounceRow {
  http_per_s: number | null;
  ws_per_s: number | null;
}

export interface ClusterResult {
  memory_1: AnnounceRow;
  redis_1: AnnounceRow;
  redis_2: AnnounceRow;
  opentracker_http_per_s: number | null;
  /** redis_2 over redis_1, HTTP (target ≥ 1.6). */
  redis_scaling: number | null;
  /** Every tracker process of this machine (redis_2) over opentracker, HTTP (target ≥ 1.0). */
  over_opentracker: number | null;
  admissions_per_s: { pg_1: number | null; pg_2: number | null };
  admission_latency_ms: { pg_1: { p50: number | null; p99: number | null }; pg_2: { p50: number | null; p99: number | null } };
  /** Kicks entering the control server that does not hold the session's tracker link (target p99 ≤ 150 ms). */
  cross_kick: CrossKickFigures | null;
  detail: Record<string, unknown>;
}

function lib(name: string): string {
  return fileURLToPath(new URL(`../lib/${name}`, import.meta.url));
}

function child<T>(script: string, arg: unknown, send?: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const c = fork(lib(script), arg === undefined ? [] : [JSON.stringify(arg)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    c.once('message', (m) => resolve(m as T));
    c.once('error', reject);
    c.once('exit', (code) => reject(new Error(`${script} exited with ${String(code)} before answering`)));
    if (send !== undefined) c.send(send as object);
  });
}

interface Sessions {
  entries: Array<MixEntry & { sid: string; key: string }>;
}

/** Programs, users and one admitted session per user and program (their tokens make the announce mix). */
async function populate(admin: AdminClient, controlUrl: string): Promise<Sessions> {
  for (let p = 0; p < PROGRAMS; p++) {
    await admin.addProgram({ id: `cprog${p}`, title: `cluster program ${p}`, source_key: rawPublicKey(generateKeyPairSync('ed25519').publicKey) });
  }
  const entries: Sessions['entries'] = [];
  for (let u = 0; u < USERS; u++) {
    await admin.addUser(`c${u}`, `pw-c${u}`);
    for (let p = 0; p < PROGRAMS; p++) {
      await admin.grant(`c${u}`, `cprog${p}`, null);
      const pair = generateKeyPairSync('ed25519');
      const a = await requestProgram(controlUrl, { program: `cprog${p}`, user: `c${u}`, password: `pw-c${u}`, clientKey: rawPublicKey(pair.publicKey) });
      entries.push({ infoHash: a.metadata.info_hash, token: a.token, sid: a.session, key: pair.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64url') });
    }
  }
  return { entries };
}

/** HTTP announces/s over every tracker at once (one wrk each, the connections split), and WebSocket announces/s likewise. */
async function announceRow(trackers: Proc[], s: Sessions, durationS: number, wrkReady: boolean): Promise<AnnounceRow & { runs: unknown[] }> {
  const runs: unknown[] = [];
  let http: number | null = null;
  if (wrkReady) {
    const per = await Promise.all(
      trackers.map((t) => runWrk({ url: `${t.url}/announce`, entries: s.entries, durationS, threads: 1, connections: Math.ceil(WRK_CONNECTIONS / trackers.length) })),
    );
    runs.push(...per);
    http = per.reduce((n, r) => n + r.rps, 0);
  }
  const channels = s.entries.slice(0, WS_CHANNELS);
  const ws = await Promise.all(
    trackers.map((t, i) =>
      child<{ ok: number; errors: number; firstError: string | null; seconds: number }>('ws-load.ts', {
        wsUrl: `${t.url.replace(/^http/, 'ws')}${CHANNEL_PATH}`,
        entries: channels.filter((_, j) => j % trackers.length === i),
        durationS,
      }),
    ),
  );
  runs.push(...ws);
  const wsRate = ws.reduce((n, r) => n + (r.seconds > 0 ? r.ok / r.seconds : 0), 0);
  return { http_per_s: http, ws_per_s: Math.round(wsRate), runs };
}

/** Device-credential admissions/s with every control server loaded at once, `concurrency` in flight each. */
async function admissions(controls: Proc[], users: AdmissionLoadSpec['users'], durationS: number): Promise<{ rate: number | null; p50: number | null; p99: number | null; runs: AdmissionLoadResult[] }> {
  const runs = await Promise.all(
    controls.map((c) =>
      child<AdmissionLoadResult>('admission-load.ts', undefined, { controlUrl: c.url, program: 'cprog0', mode: 'device', users, concurrency: 8, durationS } satisfies AdmissionLoadSpec),
    ),
  );
  const lat = runs.flatMap((r) => r.latenciesMs);
  return {
    rate: round(runs.reduce((n, r) => n + r.admitted / r.seconds, 0), 1),
    p50: lat.length ? round(percentile(lat, 50), 1) : null,
    p99: lat.length ? round(percentile(lat, 99), 1) : null,
    runs,
  };
}

export async function runCluster(o: { durationS: number; install: boolean; log: (l: string) => void }): Promise<ClusterResult> {
  const policy: InstallPolicy = { install: o.install, log: o.log };
  const wrk = ensureDebianTool('wrk', 'wrk', ['--version'], policy);
  const opentracker = ensureDebianTool('opentracker', 'opentracker', ['-h'], policy);
  const skipped: Record<string, string> = {};
  const skip = (row: string, why: string): void => {
    skipped[row] = why;
    o.log(`skipped ${row}: ${why}`);
  };
  if (!wrk.ready) skip('http', wrk.note);
  const pgWhy = await pgProblem(BENCH_PG_URL);
  const redisWhy = await redisProblem(BENCH_REDIS_URL);
  const env: ClusterEnv = clusterEnv();
  const procs: Proc[] = [];
  const result: ClusterResult = {
    memory_1: { http_per_s: null, ws_per_s: null },
    redis_1: { http_per_s: null, ws_per_s: null },
    redis_2: { http_per_s: null, ws_per_s: null },
    opentracker_http_per_s: null,
    redis_scaling: null,
    over_opentracker: null,
    admissions_per_s: { pg_1: null, pg_2: null },
    admission_latency_ms: { pg_1: { p50: null, p99: null }, pg_2: { p50: null, p99: null } },
    cross_kick: null,
    detail: { skipped, durationS: o.durationS, pg: BENCH_PG_URL, redis: BENCH_REDIS_URL, wrk: { threads_per_tracker: 1, connections: WRK_CONNECTIONS }, ws_channels: WS_CHANNELS },
  };
  const runs: Record<string, unknown> = {};
  result.detail['runs'] = runs;
  const schema = pgWhy === null ? await createSchema(BENCH_PG_URL, 'gc_bench_') : null;
  if (pgWhy !== null) skip('admissions', pgWhy);
  if (redisWhy !== null) skip('redis', redisWhy);
  try {
    // The control server the trackers link to: on PostgreSQL when there is one (the cluster's layout), else SQLite.
    const a = await startControl(schema?.url ?? ':memory:', env);
    procs.push(a);
    const admin = adminClient(a.url, env.adminPassword);
    let t1: Proc | null = null;
    const mem = await startTracker(a.url, 'memory', env);
    procs.push(mem);
    const sessions = await populate(admin, a.url);
    o.log(`${sessions.entries.length} sessions over ${PROGRAMS} programs`);

    const m = await announceRow([mem], sessions, o.durationS, wrk.ready);
    result.memory_1 = { http_per_s: m.http_per_s, ws_per_s: m.ws_per_s };
    runs['memory_1'] = m.runs;
    o.log(`1 tracker, memory: ${m.http_per_s ?? '–'} HTTP/s, ${m.ws_per_s ?? '–'} WS/s`);
    await mem.stop();

    if (redisWhy === null) {
      await clearRedisPrefix(BENCH_REDIS_URL, SWARM_KEY_PREFIX);
      t1 = await startTracker(a.url, BENCH_REDIS_URL, env);
      procs.push(t1);
      const r1 = await announceRow([t1], sessions, o.durationS, wrk.ready);
      result.redis_1 = { http_per_s: r1.http_per_s, ws_per_s: r1.ws_per_s };
      runs['redis_1'] = r1.runs;
      o.log(`1 tracker, Redis: ${r1.http_per_s ?? '–'} HTTP/s, ${r1.ws_per_s ?? '–'} WS/s`);
      const t2 = await startTracker(a.url, BENCH_REDIS_URL, env);
      procs.push(t2);
      const r2 = await announceRow([t1, t2], sessions, o.durationS, wrk.ready);
      result.redis_2 = { http_per_s: r2.http_per_s, ws_per_s: r2.ws_per_s };
      runs['redis_2'] = r2.runs;
      o.log(`2 trackers, one Redis: ${r2.http_per_s ?? '–'} HTTP/s, ${r2.ws_per_s ?? '–'} WS/s`);
      if (r1.http_per_s && r2.http_per_s) result.redis_scaling = round(r2.http_per_s / r1.http_per_s, 2);
      await t2.stop();
    }

    if (wrk.ready && opentracker.ready) {
      const ot = await startOpentracker([...new Set(sessions.entries.map((e) => e.infoHash))]);
      try {
        const run = await runWrk({ url: ot.announceUrl, entries: sessions.entries, durationS: o.durationS, threads: 2, connections: WRK_CONNECTIONS });
        result.opentracker_http_per_s = run.rps;
        runs['opentracker'] = run;
        o.log(`opentracker: ${run.rps} HTTP/s`);
      } finally {
        await ot.stop();
      }
      const ours = result.redis_2.http_per_s ?? result.memory_1.http_per_s;
      const theirs = result.opentracker_http_per_s;
      if (ours && theirs) result.over_opentracker = round(ours / theirs, 2);
    } else if (wrk.ready) {
      skip('opentracker', opentracker.note);
    }

    if (schema) {
      // Device credentials (one SHA-256 each): the figure is the servers' and the database's, not scrypt's.
      const users: AdmissionLoadSpec['users'] = [];
      for (let i = 0; i < ADMISSION_USERS; i++) {
        const user = `c${i}`;
        const login = await loginDevice(a.url, { user, password: `pw-${user}`, label: 'cluster bench' });
        users.push({ user, password: `pw-${user}`, device: { device: login.device, secret: login.secret } });
      }
      const one = await admissions([a], users, o.durationS);
      result.admissions_per_s.pg_1 = one.rate;
      result.admission_latency_ms.pg_1 = { p50: one.p50, p99: one.p99 };
      o.log(`1 control server on PostgreSQL: ${one.rate} admissions/s`);
      const b = await startControl(schema.url, env);
      procs.push(b);
      // Each control server admits onto a tracker linked to it (the cluster's layout; Redis shares the swarm).
      if (redisWhy === null) procs.push(await startTracker(b.url, BENCH_REDIS_URL, env));
      const two = await admissions([a, b], users, o.durationS);
      result.admissions_per_s.pg_2 = two.rate;
      result.admission_latency_ms.pg_2 = { p50: two.p50, p99: two.p99 };
      runs['admissions'] = { one: one.runs.map(strip), two: two.runs.map(strip) };
      o.log(`2 control servers on one PostgreSQL: ${two.rate} admissions/s`);
      if (t1) {
        // Kicks through B for sessions on T1, whose link is A's; B's admin API with a device credential (no scrypt per poll).
        for (let i = 0; i < KICKS; i++) {
          await admin.addUser(`k${i}`, `pw-k${i}`);
          await admin.grant(`k${i}`, 'cprog1', null);
        }
        const cred = await loginDevice(b.url, { user: 'admin', password: env.adminPassword, label: 'cluster bench' });
        result.cross_kick = await crossInstanceKicks({
          admitUrl: a.url,
          trackerWs: `${t1.url.replace(/^http/, 'ws')}${CHANNEL_PATH}`,
          trackerId: new URL(t1.url).host,
          program: 'cprog1',
          users: Array.from({ length: KICKS }, (_, i) => ({ user: `k${i}`, password: `pw-k${i}` })),
          kickVia: adminClient(b.url, { device: cred.device, secret: cred.secret }),
        });
        o.log(`kicks through the other control server: removal p50 ${result.cross_kick.removal_ms.p50 ?? '–'} ms, p99 ${result.cross_kick.removal_ms.p99 ?? '–'} ms`);
      }
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await schema?.drop().catch((err: unknown) => o.log(`could not drop the bench schema: ${String(err)}`));
    if (redisWhy === null) await clearRedisPrefix(BENCH_REDIS_URL, SWARM_KEY_PREFIX).catch(() => 0);
  }
  return result;
}

/** An admission run without its latency list (the percentiles keep what matters). */
function strip(r: AdmissionLoadResult): Omit<AdmissionLoadResult, 'latenciesMs'> {
  const { latenciesMs: _drop, ...rest } = r;
  return rest;
}

export function clusterMarkdown(r: ClusterResult, cmd: string): string {
  const rows: Array<Array<string | number | null>> = [
    ['HTTP announces/s, 1 tracker, memory', r.memory_1.http_per_s, '', ''],
    ['HTTP announces/s, 1 tracker, Redis', r.redis_1.http_per_s, '', ''],
    ['HTTP announces/s, 2 trackers, one Redis', r.redis_2.http_per_s, '', ''],
    ['HTTP announces/s, opentracker', r.opentracker_http_per_s, '', ''],
    ['2 trackers ÷ 1 (Redis)', r.redis_scaling, '≥ 1.6', verdict(r.redis_scaling, 1.6, 'min')],
    ['every tracker process ÷ opentracker', r.over_opentracker, '≥ 1.0', verdict(r.over_opentracker, 1.0, 'min')],
    ['WebSocket announces/s, 1 tracker, memory', r.memory_1.ws_per_s, '', ''],
    ['WebSocket announces/s, 1 tracker, Redis', r.redis_1.ws_per_s, '', ''],
    ['WebSocket announces/s, 2 trackers, one Redis', r.redis_2.ws_per_s, '', ''],
    ['admissions/s, 1 control server, PostgreSQL (device credentials)', r.admissions_per_s.pg_1, '', ''],
    ['admissions/s, 2 control servers, one PostgreSQL', r.admissions_per_s.pg_2, '', ''],
    ['admission latency p50 / p99 ms, 1 server', `${r.admission_latency_ms.pg_1.p50 ?? '–'} / ${r.admission_latency_ms.pg_1.p99 ?? '–'}`, '', ''],
    ['kick removal p50 / p99 ms, kick entering the other control server', `${r.cross_kick?.removal_ms.p50 ?? '–'} / ${r.cross_kick?.removal_ms.p99 ?? '–'}`, 'p99 ≤ 150', verdict(r.cross_kick?.removal_ms.p99 ?? null, 150, 'max')],
    ['admission latency p50 / p99 ms, 2 servers', `${r.admission_latency_ms.pg_2.p50 ?? '–'} / ${r.admission_latency_ms.pg_2.p99 ?? '–'}`, '', ''],
  ];
  const skipped = Object.entries((r.detail['skipped'] as Record<string, string> | undefined) ?? {});
  const notes = skipped.length === 0 ? '' : `\n\nNot measured:\n\n${skipped.map(([row, why]) => `- ${row}: ${why}`).join('\n')}`;
  return `# cluster\n\n\`${cmd}\`\n\n${mdTable(['figure', 'value', 'target', 'verdict'], rows)}${notes}\n\nDetail: \`${JSON.stringify(r.detail)}\`\n`;
}

export function clusterSvg(r: ClusterResult): string {
  return figure('Trackers and control servers beyond one process', [
    barPanel('HTTP announces/s', 'announces/s', [
      { label: '1, memory', value: r.memory_1.http_per_s ?? Number.NaN },
      { label: '1, Redis', value: r.redis_1.http_per_s ?? Number.NaN },
      { label: '2, Redis', value: r.redis_2.http_per_s ?? Number.NaN },
      { label: 'opentracker', value: r.opentracker_http_per_s ?? Number.NaN },
    ]),
    barPanel('admissions/s', 'admissions/s', [
      { label: '1 control', value: r.admissions_per_s.pg_1 ?? Number.NaN },
      { label: '2 control', value: r.admissions_per_s.pg_2 ?? Number.NaN },
    ]),
  ]);
}
