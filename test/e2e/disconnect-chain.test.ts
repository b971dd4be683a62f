/**
 * The disconnect chain under message loss and restarts: every hop is
 * at-least-once, so 200 kicks all complete with 30% of control messages
 * lost, and a tracker or control server restarted mid-chain finishes the job.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomFaults, type MessageFaults } from '../../src/core/faults.js';
import { startLocalSystem } from '../../src/cli/local-system.js';
import { adminClient, type AdminClient } from '../../src/cli/control-client.js';
import { createControlServer, type ControlServer } from '../../src/control/index.js';
import { createTracker, type Tracker } from '../../src/tracker/create-tracker.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';
import { MemorySwarmStore } from '../../src/store/memory-swarm-store.js';
import { systemClock } from '../../src/protocol/system-clock.js';
import { chainClient, type ChainClient } from './chain-clients.js';
import { generateKeyPairSync } from 'node:crypto';
import { rawPublicKey } from '../../src/core/piece.js';

/** A program's source public key, its private half made on the broadcaster's side (none broadcasts here). */
const newSourceKey = (): string => rawPublicKey(generateKeyPairSync('ed25519').publicKey);
import { waitFor } from './helpers.js';

async function inBatches<T, R>(items: T[], size: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map((x, k) => fn(x, i + k)))));
  return out;
}

async function liveSids(admin: AdminClient): Promise<string[]> {
  return (await admin.listSessions()).filter((s) => s.state !== 'ended').map((s) => s.id).sort();
}

test('with 30% of messages lost on every control hop, 200 disconnects all complete and both lists agree exactly', async () => {
  // Loss is switched on once the 200 clients have joined, and spares heartbeats: a
  // heartbeat lost over and over is how a dead client looks, which the heartbeat
  // timeout handles by design (tested on its own); here every session must end by its kick.
  const random = randomFaults(0.3, 20261123);
  let lossy = false;
  let dropped = 0;
  const faults: MessageFaults = {
    drop: (hop, dir, type) => {
      if (!lossy || type === 'heartbeat' || !random.drop(hop, dir, type)) return false;
      dropped++;
      return true;
    },
  };
  const sys = await startLocalSystem({
    adminPassword: 'lossy-admin',
    faults,
    heartbeatTimeoutMs: 30_000,
    disconnectRetryMs: 200,
    clientRetryMs: 200,
    linkRetryMs: 200,
  });
  const clients: ChainClient[] = [];
  try {
    await sys.addProgram({ id: 'ch1', title: 'Channel 1' });
    await sys.admin.addUser('crowd', 'pw-crowd');
    await sys.admin.grant('crowd', 'ch1', null);
    const creds = { user: 'crowd', password: 'pw-crowd', program: 'ch1' };
    clients.push(...(await inBatches([...Array(200).keys()], 50, (_, i) => chainClient(sys.controlUrl, creds, { faults, port: 20_000 + i }))));
    const sids = clients.map((c) => c.sid).sort();
    await waitFor('200 joins recorded by the control server', async () => (await liveSids(sys.admin)).length === 200, 30_000);
    assert.deepEqual(await liveSids(sys.admin), sids);

    lossy = true;
    const kicked = await inBatches(clients, 20, (c) => sys.admin.kick({ session: c.sid }, 'lossy test'));
    assert.equal(kicked.flat().length, 200);
    await waitFor('every disconnect completed', async () => (await sys.admin.listDisconnects({ pending: true })).length === 0, 60_000);
    const done = await sys.admin.listDisconnects({ limit: 1000 });
    assert.equal(done.length, 200);
    assert.ok(done.every((d) => d.state === 'completed'), 'all completed');
    await waitFor('the tracker holds none of them', () => sys.tracker.sessions().length === 0, 15_000);
    // No orphan on either side: the two lists of clients in the system agree.
    assert.deepEqual(await liveSids(sys.admin), []);
    assert.deepEqual(sys.tracker.sessions(), []);
    assert.ok(clients.filter((c) => c.answered.length > 0).length >= 150, 'most clients answered the disconnect themselves');
    assert.ok(dropped > 300, `${dropped} messages were lost`);
  } finally {
    for (const c of clients) c.tracker.close();
    await sys.stop();
  }
});

/** Control server + tracker on fixed ports, each restartable. */
async function restartableSystem(dir: string): Promise<{
  admin: AdminClient;
  controlUrl: string;
  control: () => ControlServer;
  tracker: () => Tracker;
  restartControl(): Promise<void>;
  stopTracker(): Promise<void>;
  startTracker(faults?: MessageFaults): Promise<void>;
  stop(): Promise<void>;
}> {
  const password = 'restart-admin';
  const dbPath = join(dir, 'control.db');
  let store = new SqliteControlStore(dbPath);
  const makeControl = (s: SqliteControlStore, faults?: MessageFaults): Promise<ControlServer> =>
    createControlServer({ store: s, clock: systemClock, adminPassword: password, trackerSecret: `${password}-tracker`, disconnectRetryMs: 200, faults, webServer: webServerFactory() });
  let control = await makeControl(store);
  const controlUrl = await control.listen(0, '127.0.0.1');
  const controlPort = Number(new URL(controlUrl).port);
  const swarm = new MemorySwarmStore();
  let tracker: Tracker | null = null;
  let trackerPort = 0;
  const startTracker = async (faults?: MessageFaults): Promise<void> => {
    tracker = await createTracker({
      controlUrl,
      secret: `${password}-tracker`,
      port: trackerPort,
      host: '127.0.0.1',
      store: swarm,
      heartbeatTimeoutMs: 2_000,
      clientRetryMs: 200,
      linkRetryMs: 200,
      faults,
      webServer: webServerFactory(),
    });
    const { announceUrl } = await tracker.start();
    trackerPort = Number(new URL(announceUrl).port);
    await tracker.ready;
  };
  await startTracker();
  return {
    admin: adminClient(controlUrl, password),
    controlUrl,
    control: () => control,
    tracker: () => {
      if (!tracker) throw new Error('tracker not running');
      return tracker;
    },
    async restartControl() {
      await control.close();
      await store.close();
      store = new SqliteControlStore(dbPath);
      control = await makeControl(store);
      await control.listen(controlPort, '127.0.0.1');
    },
    async stopTracker() {
      await tracker?.stop();
      tracker = null;
    },
    startTracker,
    async stop() {
      await tracker?.stop();
      await control.close();
      await store.close();
      await swarm.close();
    },
  };
}

test('a tracker restarted in the middle of a disconnect: the chain completes after the restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatecast-chain-'));
  const sys = await restartableSystem(dir);
  // The first tracker never hears the command: it dies with the disconnect unacknowledged.
  let deaf = true;
  const deafToDisconnects: MessageFaults = { drop: (_hop, dir, type) => deaf && dir === 'receive' && type === 'disconnect' };
  try {
    await sys.stopTracker();
    await sys.startTracker(deafToDisconnects);
    await sys.admin.addProgram({ id: 'ch1', title: 'Channel 1', source_key: newSourceKey() });
    await sys.admin.addUser('ivan', 'pw-ivan');
    await sys.admin.grant('ivan', 'ch1', null);
    const ivan = await chainClient(sys.controlUrl, { user: 'ivan', password: 'pw-ivan', program: 'ch1' }, { port: 30_001 });
    await waitFor('ivan joined', async () => (await liveSids(sys.admin)).includes(ivan.sid));
    await sys.admin.kick({ session: ivan.sid }, 'restart test');
    await waitFor('the command was sent at least twice', async () => ((await sys.admin.listDisconnects({ pending: true }))[0]?.attempts ?? 0) >= 2);
    await sys.stopTracker();
    deaf = false;
    await sys.startTracker();
    await waitFor('the disconnect completed', async () => (await sys.admin.listDisconnects({ pending: true })).length === 0, 15_000);
    const [d] = await sys.admin.listDisconnects({ session: ivan.sid });
    assert.equal(d?.state, 'completed');
    assert.deepEqual(await liveSids(sys.admin), []);
    assert.deepEqual(sys.tracker().sessions(), []);
    // Ivan's old token still verifies, but the new tracker was told it is revoked.
    assert.ok(sys.tracker().isRevoked(ivan.sid));
    ivan.tracker.close();
  } finally {
    await sys.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a control server restarted in the middle of a disconnect: the chain resumes from its database and completes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatecast-chain-'));
  const sys = await restartableSystem(dir);
  try {
    await sys.admin.addProgram({ id: 'ch1', title: 'Channel 1', source_key: newSourceKey() });
    await sys.admin.addUser('judy', 'pw-judy');
    await sys.admin.grant('judy', 'ch1', null);
    // Judy ignores the disconnect, so the chain waits on her heartbeat timeout while the control server restarts.
    const judy = await chainClient(sys.controlUrl, { user: 'judy', password: 'pw-judy', program: 'ch1' }, { port: 30_002, obey: false });
    await waitFor('judy joined', async () => (await liveSids(sys.admin)).includes(judy.sid));
    await sys.admin.kick({ session: judy.sid }, 'restart test');
    await waitFor('the tracker acked', async () => (await sys.admin.listDisconnects({ pending: true }))[0]?.timeline.some((e) => e.event === 'tracker_ack'));
    await sys.restartControl();
    await waitFor('the disconnect completed', async () => (await sys.admin.listDisconnects({ pending: true })).length === 0, 15_000);
    const [d] = await sys.admin.listDisconnects({ session: judy.sid });
    assert.equal(d?.state, 'completed');
    assert.equal(d?.outcome, 'timeout');
    assert.deepEqual(await liveSids(sys.admin), []);
    assert.deepEqual(sys.tracker().sessions(), []);
    judy.tracker.close();
  } finally {
    await sys.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
