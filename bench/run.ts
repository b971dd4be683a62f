/**
 * `npm run bench [-- --scenario swarm|flash-crowd|churn|tracker|kick|admission|cluster|all]
 * [--viewers N] [--duration S] [--concurrency N] [--json] [--profile] [--detail] [--device] [--no-install]`
 *
 * With no flags: a quick swarm of 20 viewers for 20 s. Each run writes
 * bench/results/<scenario>-<timestamp>.json, <scenario>.md and <scenario>.svg;
 * with --json the result is printed as the last line of stdout.
 */
import { Command, InvalidArgumentError } from 'commander';
import { machineInfo } from './lib/machine.js';
import { writeResults } from './lib/report.js';
import { swarmMarkdown, swarmSvg } from './lib/swarm-report.js';
import { runSwarm } from './scenarios/swarm.js';
import { runTracker, trackerMarkdown, trackerSvg } from './scenarios/tracker.js';
import { kickMarkdown, kickSvg, runKick } from './scenarios/kick.js';
import { admissionMarkdown, admissionSvg, runAdmission } from './scenarios/admission.js';
import { clusterMarkdown, clusterSvg, runCluster } from './scenarios/cluster.js';

const SCENARIOS = ['swarm', 'flash-crowd', 'churn', 'tracker', 'kick', 'admission', 'cluster', 'all'] as const;
type Scenario = (typeof SCENARIOS)[number];

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function nonNegativeNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number ≥ 0');
  return n;
}

function positiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

const program = new Command('bench')
  .description('gatecast benchmarks: real viewers over loopback, results under bench/results/')
  .option('--scenario <name>', `one of ${SCENARIOS.join(', ')}`)
  .option('--viewers <n>', 'viewers (swarm default 20, flash-crowd/churn/kick 100)', positiveInt)
  .option('--duration <s>', 'seconds of stream measured after all joined (swarm 60, churn 180; tracker, cluster: seconds per load run)', positiveNumber)
  .option('--per-worker <n>', 'viewers per worker process', positiveInt, 20)
  .option('--join-gap-ms <ms>', 'swarm/churn: pause between two joins', nonNegativeNumber)
  .option('--kicks <n>', 'kick: kicks per client kind', positiveInt, 20)
  .option('--concurrency <n>', 'admission: requests in flight', positiveInt, 8)
  .option('--profile', 'run workers under --cpu-prof and summarize the top self-time functions', false)
  .option('--json', 'print the JSON result as the last line of stdout', false)
  .option('--detail', 'swarm/flash-crowd/churn: trace every viewer; write the worst ones to bench/results/<scenario>-detail-<time>.json', false)
  .option('--device', 'swarm/flash-crowd/churn: viewers log in beforehand and are admitted with device credentials (no password hash at join)', false)
  .option('--no-install', "tracker, cluster: skip comparison servers that are missing instead of installing them (apt-get as root; bench/vendor's npm install)")
  .parse();

const opts = program.opts<{
  scenario?: string;
  viewers?: number;
  duration?: number;
  perWorker: number;
  joinGapMs?: number;
  kicks: number;
  concurrency: number;
  profile: boolean;
  json: boolean;
  install: boolean;
  detail: boolean;
  device: boolean;
}>();

if (opts.scenario !== undefined && !(SCENARIOS as readonly string[]).includes(opts.scenario)) {
  console.error(`bench: unknown scenario "${opts.scenario}"; expected one of ${SCENARIOS.join(', ')}`);
  process.exit(2);
}
const quick = opts.scenario === undefined;
const scenario = (opts.scenario ?? 'swarm') as Scenario;
const log = (line: string): void => {
  // Progress goes to stderr so --json's last stdout line stays the result.
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
};

function command(name: string, extra: string[]): string {
  return ['npm run bench --', '--scenario', name, ...extra, ...(opts.profile ? ['--profile'] : [])].join(' ');
}

async function one(name: Exclude<Scenario, 'all'>): Promise<Record<string, unknown>> {
  const machine = machineInfo();
  const started = new Date().toISOString();
  if (name === 'swarm' || name === 'flash-crowd' || name === 'churn') {
    const viewers = opts.viewers ?? (name === 'swarm' ? 20 : 100);
    const durationS = opts.duration ?? (quick ? 20 : name === 'churn' ? 180 : 60);
    const gap = opts.joinGapMs === undefined ? [] : ['--join-gap-ms', String(opts.joinGapMs)];
    const cmd = command(name, ['--viewers', String(viewers), '--duration', String(durationS), ...gap, ...(opts.device ? ['--device'] : [])]);
    log(`${name}: ${viewers} viewers, ${durationS} s after all joined`);
    const run = await runSwarm({ scenario: name, viewers, durationS, perWorker: opts.perWorker, joinGapMs: opts.joinGapMs, profile: opts.profile, detail: opts.detail, device: opts.device, log });
    const out = { ...run.result, detail: { ...run.result.detail, command: cmd, machine, started } };
    const paths = writeResults(name, out, swarmMarkdown(run.result, cmd, run.profile), swarmSvg(run.result, run.samples));
    log(`wrote ${paths.json}`);
    return out;
  }
  if (name === 'tracker') {
    const durationS = opts.duration ?? 10;
    const cmd = command(name, ['--duration', String(durationS)]);
    log(`tracker: ${durationS} s of announces per tracker`);
    const result = await runTracker({ durationS, install: opts.install, log });
    const out = { ...result, detail: { ...result.detail, command: cmd, machine, started } };
    const paths = writeResults(name, out, trackerMarkdown(result, cmd), trackerSvg(result));
    log(`wrote ${paths.json}`);
    return out;
  }
  if (name === 'cluster') {
    const durationS = opts.duration ?? 10;
    const cmd = command(name, ['--duration', String(durationS)]);
    log(`cluster: ${durationS} s per load run; trackers and control servers as separate processes`);
    const result = await runCluster({ durationS, install: opts.install, log });
    const out = { ...result, detail: { ...result.detail, command: cmd, machine, started } };
    const paths = writeResults(name, out, clusterMarkdown(result, cmd), clusterSvg(result));
    log(`wrote ${paths.json}`);
    return out;
  }
  if (name === 'admission') {
    const durationS = opts.duration ?? 20;
    const cmd = command(name, ['--duration', String(durationS), '--concurrency', String(opts.concurrency)]);
    log(`admission: ${durationS} s per credential kind, ${opts.concurrency} in flight`);
    const result = await runAdmission({ durationS, users: 20, concurrency: opts.concurrency, rounds: 4, log });
    const out = { ...result, detail: { ...result.detail, command: cmd, machine, started } };
    const paths = writeResults(name, out, admissionMarkdown(result, cmd), admissionSvg(result));
    log(`wrote ${paths.json}`);
    return out;
  }
  const viewers = opts.viewers ?? 100;
  const cmd = command(name, ['--viewers', String(viewers), '--kicks', String(opts.kicks)]);
  log(`kick: ${viewers} viewers, ${opts.kicks} kicks per client kind`);
  const result = await runKick({ viewers, kicks: opts.kicks, perWorker: opts.perWorker, log });
  const out = { ...result, detail: { ...result.detail, command: cmd, machine, started } };
  const paths = writeResults(name, out, kickMarkdown(result, cmd), kickSvg(result));
  log(`wrote ${paths.json}`);
  return out;
}

async function main(): Promise<void> {
  let result: unknown;
  if (scenario === 'all') {
    const all: Record<string, unknown> = {};
    const given = opts.viewers;
    for (const name of ['swarm', 'flash-crowd', 'churn', 'tracker', 'kick', 'admission'] as const) {
      // `all` is the full set: the swarm runs at 100 viewers unless told otherwise.
      opts.viewers = given ?? (name === 'swarm' ? 100 : undefined);
      all[name] = await one(name);
    }
    result = all;
  } else {
    result = await one(scenario);
  }
  if (opts.json) console.log(JSON.stringify(result));
  else console.log(JSON.stringify(result, null, 2));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
