/**
 * Several control servers on one PostgreSQL schema (test/store/pg-test-db.ts)
 * with real trackers linked to them: the rig of the test/cluster/control-*
 * tests. Control servers run in this process (createControlServer on
 * PgControlStore and PgDisconnectNotices) or as a child process through the
 * CLI, which a test can kill -9.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { MessageFaults } from '../../src/core/faults.js';
import { rawPublicKey } from '../../src/core/piece.js';
import { createControlServer, type ControlServer } from '../../src/control/index.js';
import { adminClient, type AdminClient } from '../../src/cli/control-client.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import { systemClock } from '../../src/protocol/system-clock.js';
import { PgControlStore } from '../../src/store/pg-control-store.js';
import { PgDisconnectNotices } from '../../src/store/pg-disconnect-notices.js';
import { MemorySwarmStore } from '../../src/store/memory-swarm-store.js';
import { createTracker, type Tracker } from '../../src/tracker/create-tracker.js';
import { connectPgTestDb, type PgTestDb } from '../store/pg-test-db.js';

export const ADMIN_PASSWORD = 'cluster-admin-pw';
export const TRACKER_SECRET = 'cluster-tracker-secret';
const BIN = fileURLToPath(new URL('../../bin/gatecast.js', import.meta.url));

export interface RunningControl {
  url: string;
  admin: AdminClient;
  /** In-process only. */
  server?: ControlServer;
  store?: PgControlStore;
  /** Child process only. */
  child?: ChildProcess;
  stop(): Promise<void>;
}

export interface ClusterRig {
  db: PgTestDb;
  schema: string;
  /** The schema's URL, as a control server given --db sees it. */
  dbUrl: string;
  /** A store of the rig's own on the schema, for looking. */
  store: PgControlStore;
  startControl(instanceId: string, opts?: { faults?: MessageFaults; retryMs?: number }): Promise<RunningControl>;
  spawnControl(instanceId: string, opts?: { retryMs?: number }): Promise<RunningControl>;
  startTracker(controlUrls: string[], opts?: { faults?: MessageFaults }): Promise<Tracker>;
  stop(): Promise<void>;
}

export const newSourceKey = (): string => rawPublicKey(generateKeyPairSync('ed25519').publicKey);

export async function startClusterRig(): Promise<ClusterRig> {
  const db = await connectPgTestDb();
  const schema = await db.freshSchema();
  const u = new URL(db.url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  const dbUrl = u.toString();
  const store = await PgControlStore.open(db.url, { schema, applicationName: `gatecast-test-${db.run}` });
  await store.migrate();
  const stops: Array<() => Promise<void>> = [];
  const log = pino({ level: process.env['GATECAST_TEST_LOG'] ?? 'silent' });

  const rig: ClusterRig = {
    db,
    schema,
    dbUrl,
    store,
    async startControl(instanceId, opts = {}) {
      const own = await PgControlStore.open(db.url, { schema, applicationName: `gatecast-test-${db.run}` });
      const notices = new PgDisconnectNotices({ url: db.url, channel: own.noticeChannel, clock: systemClock, log, applicationName: `gatecast-test-${db.run}` });
      const server = await createControlServer({
        store: own,
        clock: systemClock,
        adminPassword: ADMIN_PASSWORD,
        trackerSecret: TRACKER_SECRET,
        disconnectRetryMs: opts.retryMs ?? 200,
        faults: opts.faults,
        webServer: webServerFactory(),
        logger: process.env['GATECAST_TEST_LOG'] ? { level: process.env['GATECAST_TEST_LOG'] } : false,
        cluster: { instanceId, notices },
      });
      const url = await server.listen(0);
      let stopped = false;
      const stop = async (): Promise<void> => {
        if (stopped) return;
        stopped = true;
        await server.close();
        await own.close();
      };
      stops.push(stop);
      return { url, admin: adminClient(url, ADMIN_PASSWORD), server, store: own, stop };
    },
    async spawnControl(instanceId, opts = {}) {
      const child = spawn(
        process.execPath,
        [BIN, 'control', '--port', '0', '--db', dbUrl, '--instance-id', instanceId, '--disconnect-retry', String(opts.retryMs ?? 200)],
        {
          env: { ...process.env, GATECAST_ADMIN_PASSWORD: ADMIN_PASSWORD, GATECAST_TRACKER_SECRET: TRACKER_SECRET },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let err = '';
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      const stop = async (): Promise<void> => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      };
      stops.push(stop);
      let url = '';
      if (!child.stdout) throw new Error('no stdout');
      for await (const line of createInterface({ input: child.stdout })) {
        const m = /^control server listening on (\S+)$/.exec(line);
        if (m?.[1]) {
          url = m[1];
          break;
        }
      }
      if (!url) throw new Error(`the control server child did not start: ${err}`);
      return { url, admin: adminClient(url, ADMIN_PASSWORD), child, stop };
    },
    async startTracker(controlUrls, opts = {}) {
      const swarm = new MemorySwarmStore();
      const tracker = await createTracker({
        controlUrl: controlUrls.join(','),
        secret: TRACKER_SECRET,
        port: 0,
        host: '127.0.0.1',
        store: swarm,
        heartbeatTimeoutMs: 30_000,
        clientRetryMs: 200,
        linkRetryMs: 200,
        faults: opts.faults,
        webServer: webServerFactory(),
      });
      await tracker.start();
      stops.push(async () => {
        await tracker.stop();
        await swarm.close();
      });
      await tracker.ready;
      return tracker;
    },
    async stop() {
      for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
      await store.close();
      await db.cleanup();
    },
  };
  return rig;
}

/** A program `ch1` and users granted it, through one control server's admin API. */
export async function seedProgram(admin: AdminClient, users: string[]): Promise<void> {
  await admin.addProgram({ id: 'ch1', title: 'Channel 1', source_key: newSourceKey() });
  for (const u of users) {
    await admin.addUser(u, `pw-${u}`);
    await admin.grant(u, 'ch1', null);
  }
}
