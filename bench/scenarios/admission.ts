/**
 * Admission throughput of one control server, passwords vs device
 * credentials, side by side in one run: the same users, the same load
 * generator (a separate process keeping C requests in flight), alternating
 * rounds of each kind so drift on the shared machine hits both alike. A
 * password admission pays a scrypt hash; a device admission pays one SHA-256.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startLocalSystem } from '../../src/cli/local-system.js';
import { loginDevice } from '../../src/protocol/control-api.js';
import type { LoginLimits } from '../../src/control/login-throttle.js';
import type { AdmissionLoadResult, AdmissionLoadSpec } from '../lib/admission-load.js';
import { mdTable } from '../lib/report.js';
import { percentile, round } from '../lib/stats.js';
import { barPanel, figure } from '../lib/svg.js';

const PROGRAM = 'bench-admission';
/** Loopback answers on all of 127/8: the guesser gets an address of its own, so the throttle tells it apart. */
const FLOOD_ADDRESS = '127.0.0.2';
const FLOOD_CONCURRENCY = 32;

export interface AdmissionFigures {
  admissions_per_s: number | null;
  admitted: number;
  refused: number;
  refusals: Record<string, number>;
  latency_ms: { p50: number | null; p99: number | null };
}

export interface FloodFigures {
  password: AdmissionFigures;
  flood_requests: number;
  /** HTTP status → count, of the guesses. */
  flood_answers: Record<string, number>;
}

export interface AdmissionBenchResult {
  password: AdmissionFigures;
  device: AdmissionFigures;
  /** device admissions/s over password admissions/s. */
  speedup: number | null;
  /** Password admissions while another address floods wrong passwords for other names, throttle on... */
  flood_throttled: FloodFigures;
  /** ...and the same with the throttle out of reach (as before issue 8). */
  flood_unthrottled: FloodFigures;
  detail: Record<string, unknown>;
}

function load(spec: AdmissionLoadSpec): Promise<AdmissionLoadResult> {
  const script = fileURLToPath(new URL('../lib/admission-load.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const c = fork(script, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    c.once('message', (m) => resolve(m as AdmissionLoadResult));
    c.once('error', reject);
    c.once('exit', (code) => reject(new Error(`admission-load exited with ${String(code)} before answering`)));
    c.send(spec);
  });
}

function figures(runs: AdmissionLoadResult[]): AdmissionFigures {
  const admitted = runs.reduce((n, r) => n + r.admitted, 0);
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  const refusals: Record<string, number> = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.refusals)) refusals[k] = (refusals[k] ?? 0) + v;
  const lat = runs.flatMap((r) => r.latenciesMs);
  return {
    admissions_per_s: seconds > 0 ? round(admitted / seconds, 1) : null,
    admitted,
    refused: runs.reduce((n, r) => n + r.refused, 0),
    refusals,
    latency_ms: { p50: lat.length ? round(percentile(lat, 50), 1) : null, p99: lat.length ? round(percentile(lat, 99), 1) : null },
  };
}

interface Setup {
  controlUrl: string;
  users: AdmissionLoadSpec['users'];
  stop(): Promise<void>;
}

/** A local system with the bench's users subscribed and each logged in as one device. */
async function setUp(n: number, loginLimits?: LoginLimits): Promise<Setup> {
  const sys = await startLocalSystem({ adminPassword: 'bench-admin', loginLimits });
  try {
    await sys.addProgram({ id: PROGRAM, title: 'admission bench' });
    const users: AdmissionLoadSpec['users'] = [];
    for (let i = 0; i < n; i++) {
      const user = `adm${i}`;
      const password = `pw-${user}-${i}`;
      await sys.admin.addUser(user, password);
      await sys.admin.grant(user, PROGRAM, null);
      const login = await loginDevice(sys.controlUrl, { user, password, label: 'bench' });
      users.push({ user, password, device: { device: login.device, secret: login.secret } });
    }
    return { controlUrl: sys.controlUrl, users, stop: () => sys.stop() };
  } catch (err) {
    await sys.stop();
    throw err;
  }
}

/** Password admissions while a guesser floods wrong passwords for other names from another address. */
async function underFlood(s: Setup, concurrency: number, durationS: number): Promise<{ legit: AdmissionLoadResult; flood: AdmissionLoadResult }> {
  const floodUsers = s.users.map((u) => ({ ...u, user: `${u.user}-x` }));
  const base = { controlUrl: s.controlUrl, program: PROGRAM, durationS };
  const flood = load({ ...base, mode: 'flood', localAddress: FLOOD_ADDRESS, users: floodUsers, concurrency: FLOOD_CONCURRENCY });
  const legit = await load({ ...base, mode: 'password', users: s.users, concurrency });
  return { legit, flood: await flood };
}

function floodFigures(r: { legit: AdmissionLoadResult; flood: AdmissionLoadResult }): FloodFigures {
  return { password: figures([r.legit]), flood_requests: r.flood.refused, flood_answers: r.flood.refusals };
}

export async function runAdmission(o: { durationS: number; users: number; concurrency: number; rounds: number; log: (l: string) => void }): Promise<AdmissionBenchResult> {
  const floodSeconds = Math.max(2, o.durationS / 2);
  let throttled: { legit: AdmissionLoadResult; flood: AdmissionLoadResult };
  const runs: Record<'password' | 'device', AdmissionLoadResult[]> = { password: [], device: [] };
  const sys = await setUp(o.users);
  try {
    const slice = o.durationS / o.rounds;
    for (let round_ = 0; round_ < o.rounds; round_++) {
      for (const mode of round_ % 2 === 0 ? (['password', 'device'] as const) : (['device', 'password'] as const)) {
        const r = await load({ controlUrl: sys.controlUrl, program: PROGRAM, mode, users: sys.users, concurrency: o.concurrency, durationS: slice });
        o.log(`round ${round_ + 1}/${o.rounds} ${mode}: ${r.admitted} admitted in ${r.seconds.toFixed(1)} s (${(r.admitted / r.seconds).toFixed(1)}/s), ${r.refused} refused`);
        runs[mode].push(r);
      }
    }
    throttled = await underFlood(sys, o.concurrency, floodSeconds);
    o.log(`under a guess flood, throttle on: ${throttled.legit.admitted} admitted; flood answered ${JSON.stringify(throttled.flood.refusals)}`);
  } finally {
    await sys.stop();
  }
  // The same flood against a control server whose throttle is out of reach: how it was before issue 8.
  const open = await setUp(o.users, { perUser: 1e9, perAddress: 1e9, windowMs: 60_000, maxKeys: 10_000 });
  let unthrottled: { legit: AdmissionLoadResult; flood: AdmissionLoadResult };
  try {
    unthrottled = await underFlood(open, o.concurrency, floodSeconds);
    o.log(`under a guess flood, throttle off: ${unthrottled.legit.admitted} admitted; flood answered ${JSON.stringify(unthrottled.flood.refusals)}`);
  } finally {
    await open.stop();
  }
  const password = figures(runs.password);
  const device = figures(runs.device);
  const speedup = password.admissions_per_s && device.admissions_per_s ? round(device.admissions_per_s / password.admissions_per_s, 1) : null;
  return {
    password,
    device,
    speedup,
    flood_throttled: floodFigures(throttled),
    flood_unthrottled: floodFigures(unthrottled),
    detail: {
      users: o.users,
      concurrency: o.concurrency,
      rounds: o.rounds,
      seconds_per_kind: o.durationS,
      flood: { address: FLOOD_ADDRESS, concurrency: FLOOD_CONCURRENCY, seconds: floodSeconds },
      program: PROGRAM,
    },
  };
}

export function admissionMarkdown(r: AdmissionBenchResult, command: string): string {
  const row = (name: string, f: AdmissionFigures) => [name, f.admissions_per_s, f.latency_ms.p50, f.latency_ms.p99, f.admitted, f.refused];
  const answers = (f: FloodFigures): string => Object.entries(f.flood_answers).map(([k, v]) => `${k}: ${v}`).join(', ');
  const flood = r.detail['flood'] as { address: string; concurrency: number; seconds: number };
  return (
    `# Admission throughput: passwords vs device credentials\n\n` +
    `\`${command}\`\n\n` +
    mdTable(['credential', 'admissions/s', 'latency p50 (ms)', 'latency p99 (ms)', 'admitted', 'refused'], [
      row('password (scrypt)', r.password),
      row('device credential (SHA-256)', r.device),
      row('password, guess flood from another address, throttle on', r.flood_throttled.password),
      row('password, same flood, throttle off (as before)', r.flood_unthrottled.password),
    ]) +
    `\n\nDevice credentials admit ${r.speedup ?? '–'}× as many per second. ` +
    `${String(r.detail['users'])} users, ${String(r.detail['concurrency'])} requests in flight, ${String(r.detail['rounds'])} alternating rounds, ` +
    `${String(r.detail['seconds_per_kind'])} s per kind.\n\n` +
    `The guess flood (${flood.concurrency} in flight from ${flood.address} for ${flood.seconds} s, wrong passwords for other names): ` +
    `throttle on, ${r.flood_throttled.flood_requests} guesses answered ${answers(r.flood_throttled)}; ` +
    `throttle off, ${r.flood_unthrottled.flood_requests} answered ${answers(r.flood_unthrottled)}.\n`
  );
}

export function admissionSvg(r: AdmissionBenchResult): string {
  return figure('Admissions per second, one control server', [
    barPanel('admissions/s', 'admissions/s', [
      { label: 'password', value: r.password.admissions_per_s ?? NaN },
      { label: 'device', value: r.device.admissions_per_s ?? NaN },
      { label: 'pw, flood, throttled', value: r.flood_throttled.password.admissions_per_s ?? NaN },
      { label: 'pw, flood, unthrottled', value: r.flood_unthrottled.password.admissions_per_s ?? NaN },
    ]),
  ]);
}
