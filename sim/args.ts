/** The simulator's command line, parsed with commander (as bin/gatecast does). */
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULTS } from '../src/core/config.js';
import type { PeerSettings } from '../src/peer/swarm-types.js';
import { playbackTimings, type PlaybackTimings } from '../src/peer/playback-driver.js';
import { PROFILES } from './links.js';
import { SCENARIOS, type ScenarioName } from './scenario.js';

export interface SimArgs {
  viewers: number;
  scenario: ScenarioName;
  durationS: number;
  seed: number;
  json: boolean;
  links: string;
  /** steady/churn join spread; flash-crowd spread (null: the scenario's default). */
  joinS: number | null;
  spreadS: number | null;
  churnShare: number;
  churnEveryS: number;
  /** The source's upload cap, in multiples of the bitrate (null: none); the bench's is 2. */
  sourceCapX: number | null;
  /** A viewer's client-side upload cap (its token bucket), in multiples of the bitrate, for links without a modelled uplink; the bench's is 2. */
  viewerCapX: number;
  /** Progress lines on stderr every this many virtual seconds (0: none). */
  progressS: number;
  /** Overrides of the link profile's figures. */
  accessMs: [number, number] | null;
  upX: [number, number] | null | 'profile';
  loss: number | null;
  turnMs: number | null;
  /** Per-viewer rows in the JSON detail (large). */
  perViewer: boolean;
  /** Engine settings over DEFAULTS.peer (every swarm), and playback timings over DEFAULTS (every viewer), to try them. */
  peer: Partial<PeerSettings>;
  playback: Partial<PlaybackTimings>;
}

/** "a=1,b=2" → { a: 1, b: 2 }, each key one of `known`'s. */
const settings = <T extends object>(what: string, known: T) => (v: string, prev: Partial<T> = {}): Partial<T> => {
  const out: Record<string, number> = { ...(prev as Record<string, number>) };
  for (const part of v.split(',')) {
    const [k, val] = part.split('=');
    const n = Number(val);
    if (k === undefined || !(k in known) || typeof (known as Record<string, unknown>)[k] !== 'number' || !Number.isFinite(n)) {
      throw new InvalidArgumentError(`${what}: "${part}" is not name=number with a name among ${Object.keys(known).join(', ')}`);
    }
    out[k] = n;
  }
  return out as Partial<T>;
};

const range = (what: string) => (v: string): [number, number] => {
  const parts = v.split(',').map(Number);
  const [lo, hi] = parts.length === 1 ? [parts[0], parts[0]] : parts;
  if (parts.length > 2 || lo === undefined || hi === undefined || !(lo >= 0) || !(hi >= lo)) throw new InvalidArgumentError(`${what} is "lo,hi" (or one number), 0 ≤ lo ≤ hi`);
  return [lo, hi];
};

const num = (what: string, min: number, integer = false) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) throw new InvalidArgumentError(`${what} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}`);
  return n;
};

export function parseSimArgs(argv: readonly string[]): SimArgs {
  const cmd = new Command('sim')
    .description('Simulates a swarm of viewers in virtual time: the real engine over modelled links')
    .requiredOption('--viewers <n>', 'viewers', num('--viewers', 1, true))
    .addOption(new Option('--scenario <name>', 'joins and leaves').choices(SCENARIOS as string[]).default('steady'))
    .option('--duration <s>', 'measured seconds of stream (after the joins)', num('--duration', 1), 60)
    .option('--seed <k>', 'random seed: one seed, one run', num('--seed', 0, true), 1)
    .option('--json', 'print the result as JSON', false)
    .addOption(new Option('--links <profile>', 'link model').choices(Object.keys(PROFILES)).default('wan'))
    .option('--join-s <s>', 'steady/churn: joins spread over this (default 0.1 s per viewer, at most 60)', num('--join-s', 0))
    .option('--spread-s <s>', 'flash-crowd: joins spread over this (default 5 s at 100 viewers, 30 s at 10,000)', num('--spread-s', 0))
    .option('--churn-share <x>', 'churn: share of viewers replaced each round', num('--churn-share', 0), 0.2)
    .option('--churn-every-s <s>', 'churn: seconds between rounds', num('--churn-every-s', 1), 60)
    .option('--source-cap <x>', 'source upload cap in multiples of the bitrate (0: none)', num('--source-cap', 0), 2)
    .option('--viewer-cap <x>', 'viewer client upload cap in multiples of the bitrate where the links model no uplink', num('--viewer-cap', 0.1), 2)
    .option('--access-ms <lo,hi>', "override the profile's access latency range (a pair's one-way latency is the sum of both ends')", range('--access-ms'))
    .option('--up-x <lo,hi|none>', "override the profile's viewer uplink range, in multiples of the bitrate", (v: string) => (v === 'none' ? 'none' : range('--up-x')(v)))
    .option('--loss <p>', "override the profile's message loss (retransmission) rate", num('--loss', 0))
    .option('--turn-ms <ms>', "override the profile's event-loop turn (arrivals rounded up to it)", num('--turn-ms', 0))
    .option('--per-viewer', 'include per-viewer rows in the JSON detail', false)
    .option('--peer <k=v,...>', 'peer engine settings over DEFAULTS.peer, e.g. sourceUrgencyMs=1000', settings('--peer', DEFAULTS.peer), {})
    .option('--playback <k=v,...>', 'playback timings over DEFAULTS, e.g. startLagMs=2000', settings('--playback', playbackTimings()), {})
    .option('--progress <s>', 'a progress line on stderr every this many virtual seconds (0: none)', num('--progress', 0), 10)
    .exitOverride();
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts<{
    viewers: number;
    scenario: ScenarioName;
    duration: number;
    seed: number;
    json: boolean;
    links: string;
    joinS?: number;
    spreadS?: number;
    churnShare: number;
    churnEveryS: number;
    sourceCap: number;
    viewerCap: number;
    progress: number;
    accessMs?: [number, number];
    upX?: [number, number] | 'none';
    loss?: number;
    turnMs?: number;
    perViewer: boolean;
    peer: Partial<PeerSettings>;
    playback: Partial<PlaybackTimings>;
  }>();
  return {
    viewers: o.viewers,
    scenario: o.scenario,
    durationS: o.duration,
    seed: o.seed,
    json: o.json,
    links: o.links,
    joinS: o.joinS ?? null,
    spreadS: o.spreadS ?? null,
    churnShare: o.churnShare,
    churnEveryS: o.churnEveryS,
    sourceCapX: o.sourceCap === 0 ? null : o.sourceCap,
    viewerCapX: o.viewerCap,
    progressS: o.progress,
    accessMs: o.accessMs ?? null,
    upX: o.upX === undefined ? 'profile' : o.upX === 'none' ? null : o.upX,
    loss: o.loss ?? null,
    turnMs: o.turnMs ?? null,
    perViewer: o.perViewer,
    peer: o.peer,
    playback: o.playback,
  };
}
