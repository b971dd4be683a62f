/**
 * Revocations shared over Redis, played by real viewers (issue 12 part 2):
 * one control server, trackers T1 and T2 on one Redis (prefix of this
 * test's, deleted after), a broadcaster and playing viewers on both trackers.
 * Which tracker a client gets is the control server's choice (the most
 * recently linked one, or a rotation over all of them): the broadcaster and
 * the first viewers are admitted while only T1 is linked, the others after T2
 * is, and each viewer's tracker is read off the trackers themselves.
 *
 * Mallory, a viewer on T1 whose client ignores its kick (a modified client
 * keeping its token and key), is kicked through the admin API: the viewers on
 * T2 drop it as well as those on T1 (T2 pushed them `revoked`), so it is cut
 * off from everyone; a viewer joining T2 afterwards refuses it when it dials,
 * and gives it no piece; everyone else plays on.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broadcaster } from '../../src/broadcast/broadcaster.js';
import { adminClient, type AdminClient } from '../../src/cli/control-client.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import { createControlServer, type ControlServer } from '../../src/control/index.js';
import { rawPublicKey } from '../../src/core/piece.js';
import { Viewer } from '../../src/peer/viewer.js';
import { controlRequest } from '../../src/protocol/control-api.js';
import { systemClock } from '../../src/protocol/system-clock.js';
import { connectRedis, parseRedisUrl } from '../../src/store/redis-connection.js';
import { RedisRevocationStore } from '../../src/store/redis-revocation-store.js';
import { RedisSwarmStore } from '../../src/store/redis-swarm-store.js';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';
import { isCorruption } from '../../src/store/sqlite-errors.js';
import { createTracker, type Tracker } from '../../src/tracker/create-tracker.js';
import { connectRedisTestDb, REDIS_TEST_URL, type RedisTestDb } from '../store/redis-test-db.js';

const PROGRAM = 'ch1';

async function waitFor<T>(what: string, check: () => T | Promise<T>, ms = 20_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('revocations shared over Redis, with a broadcaster and viewers playing on two trackers', () => {
  let db: RedisTestDb;
  let tmp: string;
  let control: ControlServer;
  let controlUrl: string;
  let admin: AdminClient;
  let trackerSecret: string;
  let prefix: string;
  let sourceKey: KeyObject;
  const trackers: Tracker[] = [];
  const viewers: Viewer[] = [];
  const closers: Array<() => Promise<void>> = [];
  const adminPassword = randomBytes(9).toString('base64url');

  async function startTracker(id: string): Promise<Tracker> {
    const target = parseRedisUrl(REDIS_TEST_URL);
    const revocations = new RedisRevocationStore(await connectRedis(target, () => undefined), await connectRedis(target, () => undefined), { prefix, clock: systemClock, display: target.display });
    const swarm = new RedisSwarmStore(await connectRedis(target, () => undefined), { prefix, staleMs: 60_000, clock: systemClock, display: target.display, revocations });
    const tracker = await createTracker({ controlUrl, secret: trackerSecret, trackerId: id, port: 0, store: swarm, heartbeatTimeoutMs: 60_000, webServer: webServerFactory() });
    await tracker.start();
    await tracker.ready;
    trackers.push(tracker);
    closers.push(async () => {
      await tracker.stop();
      await swarm.close();
    });
    return tracker;
  }

  async function viewer(user: string): Promise<Viewer> {
    await admin.addUser(user, `pw-${user}`);
    await admin.grant(user, PROGRAM, null);
    const v = await Viewer.start({ controlUrl, program: PROGRAM, user, password: `pw-${user}`, host: '127.0.0.1', sinks: [] });
    viewers.push(v);
    return v;
  }

  const holder = (v: Viewer): Tracker | undefined => trackers.find((t) => t.sessions().includes(v.sid));

  before(async () => {
    db = await connectRedisTestDb();
    prefix = db.freshPrefix();
    tmp = mkdtempSync(join(tmpdir(), 'gatecast-revocations-'));
    const store = SqliteControlStore.open(join(tmp, 'control.db'));
    trackerSecret = randomBytes(18).toString('base64url');
    control = await createControlServer({ store, clock: systemClock, adminPassword, trackerSecret, webServer: webServerFactory(), isDatabaseCorrupt: isCorruption });
    controlUrl = await control.listen(0, '127.0.0.1');
    closers.push(async () => {
      await control.close();
      await store.close();
    });
    admin = adminClient(controlUrl, adminPassword);
    sourceKey = generateKeyPairSync('ed25519').privateKey;
    await admin.addProgram({ id: PROGRAM, title: PROGRAM, source_key: rawPublicKey(sourceKey) });
  });

  after(async () => {
    for (const v of viewers) await v.stop('test over').catch(() => undefined);
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await db?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('a viewer on T1 kicked: the viewers on T2 drop it too, a newcomer on T2 refuses it, all others play on', async () => {
    const t1 = await startTracker('t1');
    const b = await Broadcaster.start({ controlUrl, program: PROGRAM, adminPassword, input: { kind: 'test-pattern', bitrateBps: 1_000_000 }, uploadRate: null, host: '127.0.0.1', sourceKey });
    closers.push(() => b.stop());
    const mallory = await viewer('mallory');
    const alice = await viewer('alice');
    assert.equal(holder(mallory), t1);
    const t2 = await startTracker('t2');
    for (const name of ['bob', 'carol', 'dave']) await viewer(name);
    const onT2 = viewers.filter((v) => holder(v) === t2);
    assert.ok(onT2.length >= 1, 'a viewer on T2');
    await waitFor('everyone playing', () => viewers.every((v) => v.stats().played > 4), 30_000);
    await waitFor('mallory connected to a viewer on T2', () => onT2.some((v) => v.swarm.peerList().some((p) => p.sid === mallory.sid)), 30_000);

    // The modified client: deaf to its disconnect and to revocations, it keeps its token and key.
    mallory.tracker.removeAllListeners('disconnect');
    mallory.tracker.removeAllListeners('revoked');
    mallory.session.removeAllListeners('ended');
    await controlRequest(controlUrl, '/v1/admin/kick', { method: 'POST', body: { session: mallory.sid, reason: 'attacker' }, basic: { user: 'admin', password: adminPassword } });
    await waitFor('T1 revoked mallory', () => t1.isRevoked(mallory.sid));
    await waitFor('T2 revoked mallory', () => t2.isRevoked(mallory.sid));
    await waitFor('the viewers on T2 dropped mallory', () => onT2.every((v) => !v.swarm.peerList().some((p) => p.sid === mallory.sid)), 10_000);
    await waitFor('mallory cut off by every peer it had', () => mallory.swarm.peerCount === 0, 10_000);

    // Erin joins after the kick; she lands on T2 (or, with a rotation, the next admission does).
    let erin: Viewer | null = null;
    for (let i = 0; i < 3 && !erin; i++) {
      const v = await viewer(`erin${i}`);
      if (holder(v) === t2) erin = v;
    }
    assert.ok(erin, 'a newcomer on T2');
    const newcomer = erin;
    const accepted: string[] = [];
    newcomer.swarm.on('peer', ({ sid }) => accepted.push(sid));
    await waitFor('the newcomer playing', () => newcomer.stats().played > 4, 30_000);
    const at = (await t2.peers(b.metadata.info_hash)).find((p) => p.sid === newcomer.sid);
    assert.ok(at, 'the newcomer is listed');
    const bytesBefore = mallory.swarm.downMeter.total;
    mallory.swarm.connect([{ sid: newcomer.sid, peer_id: at.peerId, ip: at.ip, port: at.port, role: 'viewer' }]);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.ok(!accepted.includes(mallory.sid), 'the newcomer never accepted mallory');
    assert.ok(!newcomer.swarm.peerList().some((p) => p.sid === mallory.sid));
    assert.equal(mallory.swarm.downMeter.total, bytesBefore, 'no piece byte reached mallory');
    const others = viewers.filter((v) => v !== mallory);
    const played = others.map((v) => v.stats().played);
    await waitFor('the others play on', () => others.every((v, i) => v.stats().played >= (played[i] ?? 0) + 4), 20_000);
    assert.ok(alice.stats().played > 0);
  });
});
