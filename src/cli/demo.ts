/**
 * `gatecast demo` (what `npm start` runs): control server, tracker,
 * broadcaster with ffmpeg's test pattern, and N viewers, all on loopback,
 * each a real component over real sockets.
 */
import type { Command } from 'commander';
import { DEFAULTS } from '../core/config.js';
import type { Viewer } from '../peer/viewer.js';
import { startLocalSystem, type LocalSystem } from './local-system.js';
import { CLUSTER_DEFAULT_DB, CLUSTER_DEFAULT_REDIS } from './cluster-system.js';
import { clusterDemo } from './demo-cluster.js';
import { EXIT } from './exit-codes.js';
import { exitOnError, intOption, onSignals } from './common.js';

interface DemoFlags {
  viewers: number;
  duration?: number;
  json?: boolean;
  program: string;
  bitrate: number;
  cluster?: boolean;
  db: string;
  redis: string;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run everything on this machine: control server, tracker, broadcaster (test pattern) and viewers')
    .option('--viewers <n>', 'number of viewers', intOption(0, 200), 3)
    .option('--duration <s>', 'stop after this many seconds (default: until Ctrl-C)', intOption(1, 86_400))
    .option('--json', 'print one JSON line with the URLs once everything is up')
    .option('--program <id>', 'program id', 'demo')
    .option('--bitrate <bps>', 'test pattern bitrate in bits/s', intOption(100_000, 50_000_000), DEFAULTS.programBitrateBps)
    .option('--cluster', 'two control servers on PostgreSQL and two trackers on Redis (this machine\'s; see --db, --redis) instead of one of each')
    .option('--db <url>', '--cluster: PostgreSQL database to work in (a schema of its own, dropped at exit)', CLUSTER_DEFAULT_DB)
    .option('--redis <url>', '--cluster: Redis database for the trackers (must hold no gatecast keys; cleared at exit)', CLUSTER_DEFAULT_REDIS)
    .action(async (flags: DemoFlags) => {
      const adminPassword = process.env['GATECAST_ADMIN_PASSWORD'] ?? 'demo-admin';
      if (flags.cluster) await clusterDemo(flags, adminPassword).catch(exitOnError);
      else await demo(flags).catch(exitOnError);
    });
}

async function demo(flags: DemoFlags): Promise<void> {
  const adminPassword = process.env['GATECAST_ADMIN_PASSWORD'] ?? 'demo-admin';
  const say = (line: string): void => {
    // With --json, stdout carries only the JSON line.
    (flags.json ? process.stderr : process.stdout).write(`${line}\n`);
  };
  let system: LocalSystem | null = null;
  const stop = async (): Promise<void> => {
    await system?.stop();
  };
  onSignals(stop);
  system = await startLocalSystem({ adminPassword });
  const consoleUrl = `${system.controlUrl.replace(/\/+$/, '')}/console/`;
  say(`console:        ${consoleUrl}   (sign in as "admin", password "${adminPassword}")`);
  say(`control server: ${system.controlUrl}`);
  say(`tracker:        ${system.trackerUrl}`);
  say('plain HTTP on loopback, no TLS: a demo only (see "TLS" in docs/OPERATIONS.md for a real set-up)');
  const broadcaster = await system.broadcast(flags.program, { kind: 'test-pattern', bitrateBps: flags.bitrate }, { title: 'gatecast demo channel' });
  say(`broadcasting program "${flags.program}" (ffmpeg test pattern, ${(flags.bitrate / 1e6).toFixed(1)} Mbit/s)`);
  const viewers: Array<{ user: string; play: string; page: string }> = [];
  const running: Viewer[] = [];
  for (let i = 1; i <= flags.viewers; i++) {
    const user = `viewer${i}`;
    const v = await system.viewer(user, flags.program);
    running.push(v.viewer);
    const page = (v.playUrl ?? '').replace(/stream\.ts$/, '');
    viewers.push({ user, play: v.playUrl ?? '', page });
    say(`${user}: ${page}  (player page; the stream alone: ${v.playUrl})`);
  }
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({
        console: consoleUrl,
        control: system.controlUrl,
        tracker: system.trackerUrl,
        admin: { user: 'admin', password: adminPassword },
        program: flags.program,
        viewers,
      })}\n`,
    );
  } else {
    say(`open a viewer's page in a browser, or its stream in VLC, mpv or ffplay, e.g.  ffplay ${viewers[0]?.play ?? ''}`);
    say(`more viewers: gatecast admin --control ${system.controlUrl} users add NAME --password PW; ... grant NAME ${flags.program}; gatecast watch ...`);
    say('Ctrl-C to stop');
    // What P2P buys: the share of the viewers' bytes that came from other viewers.
    const timer = setInterval(() => {
      let fromPeers = 0;
      let total = 0;
      let onTime = 0;
      let late = 0;
      for (const v of running) {
        const s = v.stats();
        fromPeers += s.bytesFromPeers;
        total += s.bytesFromPeers + s.bytesFromSource;
        onTime += s.onTime;
        late += s.late;
      }
      const share = total > 0 ? `${Math.round((fromPeers / total) * 100)}%` : '--';
      const continuity = onTime + late > 0 ? `${((onTime / (onTime + late)) * 100).toFixed(1)}%` : '--';
      say(`${running.length} viewers | bytes from peers ${share} | source uploaded ${(broadcaster.swarm.uploaded / 1e6).toFixed(1)} MB | continuity ${continuity}`);
    }, 5_000);
    timer.unref();
  }
  if (flags.duration !== undefined) {
    setTimeout(() => {
      void stop().finally(() => process.exit(EXIT.ok));
    }, flags.duration * 1000);
  }
}
