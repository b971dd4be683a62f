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
import type { AdmissionLoadResult, AdmissionLoadSpec } from '../lib/admission-load.js';
import { mdTable } from '../lib/report.js';
import { percentile, round } from '../lib/stats.js';
import { barPanel, figure } from '../lib/svg.js';

const PROGRAM = 'bench-admission';

export interface AdmissionFigures {
  admissions_per_s: number | null;
  admitted: number;
  refused: number;
  refusals: Record<string, number>;
  latency_ms: { p50: number | null; p99: number | null };
}

export interface AdmissionBenchResult {
  password: AdmissionFigures;
  device: AdmissionFigures;
  /** device admissions/s over password admissions/s. */
  speedup: number | null;
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

export async function runAdmission(o: { durationS: number; users: number; concurrency: number; rounds: number; log: (l: string) => void }): Promise<AdmissionBenchResult> {
  const sys = await startLocalSystem({ adminPassword: 'bench-admin' });
  try {
    await sys.admin.addProgram({ id: PROGRAM, title: 'admission bench' });
    const users: AdmissionLoadSpec['users'] = [];
    for (let i = 0; i < o.users; i++) {
      const user = `adm${i}`;
      const password = `pw-${user}-${i}`;
      await sys.admin.addUser(user, password);
      await sys.admin.grant(user, PROGRAM, null);
      const login = await loginDevice(sys.controlUrl, { user, password, label: 'bench' });
      users.push({ user, password, device: { device: login.device, secret: login.secret } });
    }
    const runs: Record<'password' | 'device', AdmissionLoadResult[]> = { password: [], device: [] };
    const slice = o.durationS / o.rounds;
    for (let round_ = 0; round_ < o.rounds; round_++) {
      for (const mode of round_ % 2 === 0 ? (['password', 'device'] as const) : (['device', 'password'] as const)) {
        const r = await load({ controlUrl: sys.controlUrl, program: PROGRAM, mode, users, concurrency: o.concurrency, durationS: slice });
        o.log(`round ${round_ + 1}/${o.rounds} ${mode}: ${r.admitted} admitted in ${r.seconds.toFixed(1)} s (${(r.admitted / r.seconds).toFixed(1)}/s), ${r.refused} refused`);
        runs[mode].push(r);
      }
    }
    const password = figures(runs.password);
    const device = figures(runs.device);
    const speedup = password.admissions_per_s && device.admissions_per_s ? round(device.admissions_per_s / password.admissions_per_s, 1) : null;
    return {
      password,
      device,
      speedup,
      detail: { users: o.users, concurrency: o.concurrency, rounds: o.rounds, seconds_per_kind: o.durationS, program: PROGRAM },
    };
  } finally {
    await sys.stop();
  }
}

export function admissionMarkdown(r: AdmissionBenchResult, command: string): string {
  const row = (name: string, f: AdmissionFigures) => [name, f.admissions_per_s, f.latency_ms.p50, f.latency_ms.p99, f.admitted, f.refused];
  return (
    `# Admission throughput: passwords vs device credentials\n\n` +
    `\`${command}\`\n\n` +
    mdTable(['credential', 'admissions/s', 'latency p50 (ms)', 'latency p99 (ms)', 'admitted', 'refused'], [
      row('password (scrypt)', r.password),
      row('device credential (SHA-256)', r.device),
    ]) +
    `\n\nDevice credentials admit ${r.speedup ?? '–'}× as many per second. ` +
    `${String(r.detail['users'])} users, ${String(r.detail['concurrency'])} requests in flight, ${String(r.detail['rounds'])} alternating rounds, ` +
    `${String(r.detail['seconds_per_kind'])} s per kind.\n`
  );
}

export function admissionSvg(r: AdmissionBenchResult): string {
  return figure('Admissions per second, one control server', [
    barPanel('admissions/s', 'admissions/s', [
      { label: 'password', value: r.password.admissions_per_s ?? NaN },
      { label: 'device', value: r.device.admissions_per_s ?? NaN },
    ]),
  ]);
}
