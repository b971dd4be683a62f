/**
 * `gatecast demo --cluster`: the cluster on this machine's PostgreSQL and
 * Redis (cluster-system.ts) with the test pattern and N viewers; prints where
 * each part listens and, every 5 s, which tracker each viewer is on and what
 * the peers carried. Missing engines end it at once with what to start.
 */
import type { Viewer } from '../peer/viewer.js';
import { ClusterSetupError, startClusterSystem, type ClusterSystem } from './cluster-system.js';
import { EXIT } from './exit-codes.js';
import { onSignals } from './common.js';

export interface ClusterDemoFlags {
  viewers: number;
  duration?: number;
  json?: boolean;
  program: string;
  bitrate: number;
  db: string;
  redis: string;
}

export async function clusterDemo(flags: ClusterDemoFlags, adminPassword: string): Promise<void> {
  const say = (line: string): void => {
    (flags.json ? process.stderr : process.stdout).write(`${line}\n`);
  };
  let system: ClusterSystem | null = null;
  const stop = async (): Promise<void> => {
    await system?.stop();
  };
  onSignals(stop);
  try {
    system = await startClusterSystem({ db: flags.db, redis: flags.redis, adminPassword });
  } catch (err) {
    if (err instanceof ClusterSetupError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exit(EXIT.error);
    }
    throw err;
  }
  for (const c of system.controls) say(`control server ${c.instanceId}: ${c.url}   (console: ${c.url.replace(/\/+$/, '')}/console/, admin / "${adminPassword}")`);
  for (const [i, t] of system.trackers.entries()) say(`tracker ${i + 1}:       ${t.url}   (linked to control server ${i + 1}, the other if it is lost)`);
  say(`PostgreSQL schema ${system.schema} and the trackers' Redis keys are removed at exit`);
  const broadcaster = await system.broadcast(flags.program, { kind: 'test-pattern', bitrateBps: flags.bitrate });
  say(`broadcasting program "${flags.program}" (ffmpeg test pattern, ${(flags.bitrate / 1e6).toFixed(1)} Mbit/s)`);
  const running: Array<{ user: string; viewer: Viewer; play: string; control: string }> = [];
  for (let i = 1; i <= flags.viewers; i++) {
    const user = `viewer${i}`;
    const v = await system.viewer(user, flags.program);
    running.push({ user, viewer: v.viewer, play: v.playUrl, control: v.control });
    say(`${user}: admitted by ${v.control}, stream ${v.playUrl}`);
  }
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({
        controls: system.controls.map((c) => ({ url: c.url, instance: c.instanceId })),
        trackers: system.trackers.map((t) => t.url),
        schema: system.schema,
        admin: { user: 'admin', password: adminPassword },
        program: flags.program,
        viewers: running.map((r) => ({ user: r.user, play: r.play, control: r.control })),
      })}\n`,
    );
  }
  // The control servers' own view of which tracker holds each session (either one lists all: they share the database).
  const report = async (sys: ClusterSystem): Promise<void> => {
    let fromPeers = 0;
    let total = 0;
    for (const r of running) {
      const s = r.viewer.stats();
      fromPeers += s.bytesFromPeers;
      total += s.bytesFromPeers + s.bytesFromSource;
    }
    const onTracker = new Map<string, number>();
    for (const s of await sys.admin.listSessions()) if (s.state === 'joined') onTracker.set(s.tracker ?? '?', (onTracker.get(s.tracker ?? '?') ?? 0) + 1);
    const share = total > 0 ? `${Math.round((fromPeers / total) * 100)}%` : '--';
    const spread = [...onTracker.entries()].map(([t, n]) => `${n} on ${t}`).join(', ');
    say(`sessions joined: ${spread || 'none'} | bytes from peers ${share} | source uploaded ${(broadcaster.swarm.uploaded / 1e6).toFixed(1)} MB`);
  };
  const sys = system;
  const timer = setInterval(() => void report(sys).catch((err: unknown) => say(`status: ${err instanceof Error ? err.message : String(err)}`)), 5_000);
  timer.unref();
  if (flags.duration !== undefined) {
    setTimeout(() => {
      void stop().finally(() => process.exit(EXIT.ok));
    }, flags.duration * 1000);
  }
}
