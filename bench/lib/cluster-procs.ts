/**
 * Real `gatecast control` and `gatecast tracker` processes for the cluster
 * bench, each its own Node process (so each gets a core, as in production),
 * started through the CLI exactly as an operator would, and waited on over
 * their health endpoints. Plus the shared engines' reachability and clean-up:
 * a PostgreSQL schema of the run's own, and the Redis keys under the trackers'
 * prefix in the bench's own Redis database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Redis } from 'ioredis';
import { freePort } from './opentracker.js';
import { sleep } from './stats.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface ClusterEnv {
  adminPassword: string;
  trackerSecret: string;
}

export interface Proc {
  url: string;
  port: number;
  child: ChildProcess;
  /** Last lines of its output, for an error message. */
  tail(): string;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
}

export function clusterEnv(): ClusterEnv {
  return { adminPassword: `bench-${randomBytes(6).toString('hex')}`, trackerSecret: randomBytes(18).toString('base64url') };
}

function startCli(args: string[], env: ClusterEnv, port: number): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env: { ...process.env, GATECAST_ADMIN_PASSWORD: env.adminPassword, GATECAST_TRACKER_SECRET: env.trackerSecret, GATECAST_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer): void => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    tail: () => lines.join('\n'),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** Polls `url` until `ok(body)`; throws with the process's last output after `timeoutMs`. */
async function waitHealthy(proc: Proc, path: string, ok: (body: Record<string, unknown>) => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < end) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.url} exited with ${proc.child.exitCode}:\n${proc.tail()}`);
    try {
      const res = await fetch(`${proc.url}${path}`);
      const body = (await res.json()) as Record<string, unknown>;
      if (ok(body)) return;
      last = JSON.stringify(body);
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(100);
  }
  await proc.stop();
  throw new Error(`${proc.url}${path} not ready after ${timeoutMs} ms (${last}):\n${proc.tail()}`);
}

/** `gatecast control --db DB` on a free port, once its health answers. */
export async function startControl(db: string, env: ClusterEnv, extra: string[] = []): Promise<Proc> {
  const port = await freePort();
  const proc = startCli(['control', '--host', '127.0.0.1', '--port', String(port), '--db', db, ...extra], env, port);
  await waitHealthy(proc, '/v1/health', (b) => typeof b['status'] === 'string');
  return proc;
}

/** `gatecast tracker --control URL --swarm-store STORE` on a free port, once its control link is up. */
export async function startTracker(controlUrl: string, swarmStore: string, env: ClusterEnv): Promise<Proc> {
  const port = await freePort();
  const proc = startCli(['tracker', '--host', '127.0.0.1', '--port', String(port), '--control', controlUrl, '--swarm-store', swarmStore], env, port);
  await waitHealthy(proc, '/health', (b) => b['control_link'] === 'up');
  return proc;
}

/** Null when PostgreSQL answers at `url`, else why not. */
export async function pgProblem(url: string): Promise<string | null> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.query('SELECT 1');
    return null;
  } catch (err) {
    return `PostgreSQL at ${url} is not reachable (${err instanceof Error ? err.message || err.name : String(err)})`;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Null when Redis answers at `url`, else why not. */
export async function redisProblem(url: string): Promise<string | null> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3_000, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.ping();
    return null;
  } catch (err) {
    return `Redis at ${url} is not reachable (${err instanceof Error ? err.message : String(err)})`;
  } finally {
    r.disconnect();
  }
}

/** Deletes every key under `prefix` in the database `url` names (the trackers' swarms of this run). */
export async function clearRedisPrefix(url: string, prefix: string): Promise<number> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  r.on('error', () => undefined);
  let n = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) n += await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
  return n;
}

