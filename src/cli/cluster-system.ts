/**
 * The cluster on one machine (`gatecast demo --cluster`): two control servers
 * sharing one PostgreSQL database, two trackers sharing one Redis database
 * (each linked to one control server and failing over to the other), the
 * broadcaster, and viewers whose admissions alternate between the control
 * servers as a load balancer would spread them; the metadata spreads them
 * over the trackers. Every part is the real component over real sockets, as
 * in startLocalSystem.
 *
 * Nothing is left behind: the control servers work in a schema of their own,
 * created here and dropped at stop(), and the trackers' keys are removed from
 * the Redis database at stop(). A Redis database that already holds gatecast
 * keys (a real cluster's) is refused rather than shared.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createControlServer, type ControlServer } from '../control/index.js';
import { rawPublicKey } from '../core/piece.js';
import { Broadcaster } from '../broadcast/broadcaster.js';
import type { IngestSpec } from '../broadcast/ingest.js';
import { Viewer } from '../peer/viewer.js';
import { createPlaybackServer, type PlaybackServer } from '../peer/playback-server.js';
import { systemClock } from '../protocol/system-clock.js';
import { redactUrl } from '../store/pg-errors.js';
import { parseRedisUrl } from '../store/redis-connection.js';
import { createTracker, type Tracker } from '../tracker/create-tracker.js';
import { adminClient, type AdminClient } from './control-client.js';
import { openControlStore, type OpenedControlStore } from './control-store.js';
import { openSwarmStore, SWARM_KEY_PREFIX } from './swarm-store.js';
import { webServerFactory } from './web-server.js';

export const CLUSTER_DEFAULT_DB = 'postgres://postgres@127.0.0.1:5432/postgres';
export const CLUSTER_DEFAULT_REDIS = 'redis://127.0.0.1:6379/0';

export interface ClusterSystemOptions {
  /** PostgreSQL URL; the cluster works in a new schema of that database. */
  db: string;
  /** Redis URL (its database must hold no gatecast keys). */
  redis: string;
  adminPassword: string;
  host?: string;
  /**
   * host:port through which the servers reach PostgreSQL and Redis instead of the URLs' own (e.g. a TCP relay a
   * test cuts and restores); the schema's creation and removal and the Redis keys' clean-up still go direct.
   */
  serversVia?: { db?: string; redis?: string };
}

/** `url` with its host:port replaced by `hostPort` when given. */
function via(url: string, hostPort: string | undefined): string {
  if (hostPort === undefined) return url;
  const u = new URL(url);
  u.host = hostPort;
  return u.toString();
}

export interface ClusterNode {
  url: string;
  instanceId: string;
  server: ControlServer;
}

export interface ClusterSystem {
  controls: ClusterNode[];
  trackers: Array<{ url: string; tracker: Tracker }>;
  admin: AdminClient;
  schema: string;
  broadcast(program: string, input: IngestSpec): Promise<Broadcaster>;
  /** A subscribed user and its viewer, admitted through the control servers in turn (as a load balancer would spread them). */
  viewer(user: string, program: string): Promise<{ viewer: Viewer; playUrl: string; control: string }>;
  stop(): Promise<void>;
}

/** Thrown when the cluster's engines are missing or not ours to use: the message says what to start or pass. */
export class ClusterSetupError extends Error {
  override readonly name = 'ClusterSetupError';
}

/**
 * A new schema `<prefix><random hex>` in the database `db` names, and a URL whose connections work in it (its
 * search_path); `drop` removes it with everything in it. The demo's, and the cluster bench's.
 */
export async function createSchema(db: string, prefix = 'gatecast_demo_'): Promise<{ url: string; schema: string; drop(): Promise<void> }> {
  const schema = `${prefix}${randomBytes(4).toString('hex')}`;
  const connect = async (): Promise<pg.Client> => {
    const c = new pg.Client({ connectionString: db, connectionTimeoutMillis: 3_000 });
    c.on('error', () => undefined);
    try {
      await c.connect();
    } catch (err) {
      throw new ClusterSetupError(
        `PostgreSQL at ${redactUrl(db)} is not reachable (${err instanceof Error ? err.message || err.name : String(err)}): ` +
          'start it (e.g. `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`) or pass --db postgres://USER@HOST[:PORT]/DB',
      );
    }
    return c;
  };
  const c = await connect();
  try {
    await c.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await c.end();
  }
  const url = new URL(db);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    schema,
    async drop() {
      const d = await connect();
      try {
        await d.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await d.end();
      }
    },
  };
}

/** Checks Redis answers and holds no gatecast keys; returns a function removing the keys this cluster wrote. */
async function claimRedis(url: string): Promise<() => Promise<void>> {
  parseRedisUrl(url);
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3_000, retryStrategy: () => null });
  r.on('error', () => undefined);
  const keys = async (): Promise<string[]> => {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await r.scan(cursor, 'MATCH', `${SWARM_KEY_PREFIX}*`, 'COUNT', 1000);
      cursor = next;
      out.push(...batch);
    } while (cursor !== '0');
    return out;
  };
  try {
    await r.connect();
    const held = await keys();
    if (held.length > 0) {
      throw new ClusterSetupError(
        `Redis at ${url} already holds ${held.length} gatecast key(s) (a running cluster's?): pass --redis redis://HOST:PORT/DB with a database of the demo's own`,
      );
    }
  } catch (err) {
    r.disconnect();
    if (err instanceof ClusterSetupError) throw err;
    throw new ClusterSetupError(
      `Redis at ${url} is not reachable (${err instanceof Error ? err.message : String(err)}): start it ` +
        '(e.g. `redis-server --daemonize yes --bind 127.0.0.1 --port 6379`) or pass --redis redis://HOST:PORT/DB',
    );
  }
  return async () => {
    try {
      const left = await keys();
      if (left.length > 0) await r.del(...left);
    } finally {
      r.disconnect();
    }
  };
}

export async function startClusterSystem(opts: ClusterSystemOptions): Promise<ClusterSystem> {
  const host = opts.host ?? '127.0.0.1';
  const trackerSecret = randomBytes(18).toString('base64url');
  const logger = pino({ name: 'gatecast-cluster', level: process.env['GATECAST_LOG_LEVEL'] ?? 'warn' }, process.stderr);
  const releaseRedis = await claimRedis(opts.redis);
  const cleanups: Array<() => Promise<void>> = [releaseRedis];
  const stopAll = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => logger.warn({ err }, 'cluster clean-up step failed'));
  };
  try {
    const schema = await createSchema(opts.db);
    cleanups.push(() => schema.drop());
    const controls: ClusterNode[] = [];
    // One after the other: the first applies the migrations and makes the signing key both then share.
    for (let i = 1; i <= 2; i++) {
      const opened: OpenedControlStore = await openControlStore(via(schema.url, opts.serversVia?.db));
      cleanups.push(() => opened.store.close());
      const instanceId = `demo-control-${i}`;
      const server = await createControlServer({
        store: opened.store,
        clock: systemClock,
        adminPassword: opts.adminPassword,
        trackerSecret,
        webServer: webServerFactory(),
        isDatabaseCorrupt: opened.isCorrupt,
        databaseProbe: opened.probe,
        ...(opened.notices ? { cluster: { instanceId, notices: opened.notices(systemClock, logger) } } : {}),
      });
      cleanups.push(() => server.close());
      controls.push({ url: await server.listen(0, host), instanceId, server });
    }
    const trackers: ClusterSystem['trackers'] = [];
    for (let i = 0; i < 2; i++) {
      const store = await openSwarmStore(via(opts.redis, opts.serversVia?.redis), { heartbeatTimeoutMs: undefined, logger });
      cleanups.push(() => store.close());
      // Linked to its own control server first, to the other if that one is lost.
      const order = [controls[i], controls[1 - i]].map((c) => (c as ClusterNode).url);
      const tracker = await createTracker({ controlUrl: order.join(','), secret: trackerSecret, port: 0, host, store, webServer: webServerFactory() });
      const { announceUrl } = await tracker.start();
      cleanups.push(() => tracker.stop());
      await tracker.ready;
      trackers.push({ url: announceUrl.replace(/\/announce.*$/, ''), tracker });
    }
    const first = controls[0] as ClusterNode;
    const admin = adminClient(first.url, opts.adminPassword);
    const sourceKeys = new Map<string, KeyObject>();
    let next = 0;
    return {
      controls,
      trackers,
      admin,
      schema: schema.schema,
      async broadcast(program, input) {
        const { privateKey } = generateKeyPairSync('ed25519');
        if (!(await admin.listPrograms()).some((p) => p.id === program)) {
          // The program declares the test pattern's bitrate, which the clients pace playback by.
          const bitrate = input.kind === 'test-pattern' ? { bitrate_bps: input.bitrateBps } : {};
          await admin.addProgram({ id: program, title: program, source_key: rawPublicKey(privateKey), ...bitrate });
          sourceKeys.set(program, privateKey);
        }
        const sourceKey = sourceKeys.get(program);
        if (!sourceKey) throw new ClusterSetupError(`program ${program} was not created by this cluster: it holds no source key for it`);
        const b = await Broadcaster.start({ controlUrl: first.url, program, adminPassword: opts.adminPassword, input, uploadRate: null, host, sourceKey });
        b.on('error', (err) => process.stderr.write(`broadcaster of ${program}: ${err.message}\n`));
        cleanups.push(() => b.stop());
        return b;
      },
      async viewer(user, program) {
        const password = `pw-${user}`;
        if (!(await admin.listUsers()).some((u) => u.name === user)) await admin.addUser(user, password);
        await admin.grant(user, program, null);
        const via = controls[next++ % controls.length] as ClusterNode;
        let admitted: Viewer | null = null;
        const play: PlaybackServer = createPlaybackServer({
          webServer: webServerFactory(),
          host: '127.0.0.1',
          title: program,
          status: () => admitted?.stats() ?? {},
          viewerStats: () => admitted?.stats() ?? null,
        });
        const viewer = await Viewer.start({ controlUrl: via.url, program, user, password, host, sinks: [play] });
        admitted = viewer;
        cleanups.push(async () => {
          await viewer.stop('cluster stopping').catch(() => undefined);
          await play.close().catch(() => undefined);
        });
        const playUrl = `${(await play.listen()).replace(/\/$/, '')}/stream.ts`;
        return { viewer, playUrl, control: via.url };
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
