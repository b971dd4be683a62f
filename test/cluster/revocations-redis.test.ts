/**
 * Revocations shared by two trackers over Redis (issue 12 part 2), with real
 * components on loopback: one control server (SQLite), trackers T1 and T2 on
 * one Redis (swarm store and revocation store, under a key prefix of this
 * test's, deleted after), and viewers admitted by the control server whose
 * real TrackerClient is pointed at T1 or T2 explicitly (the metadata names
 * the most recently linked tracker only).
 *
 * A viewer on T1 kicked through the admin API (chain A–E, driven by T1): the
 * viewers on T2 are pushed `revoked` for it (they drop and refuse it), a
 * viewer joining T2 afterwards gets it in its `peers` answer, and the kicked
 * session is refused by T2 when it tries to announce there. Then Redis is cut
 * under T2 (a TCP relay, all of T2's connections) during a kick on T1, and
 * under T1 during a kick on T1: once restored, no revocation is lost.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminClient, type AdminClient } from '../../src/cli/control-client.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import { createControlServer, type ControlServer } from '../../src/control/index.js';
import { ClientError } from '../../src/core/errors.js';
import { rawPublicKey } from '../../src/core/piece.js';
import { TrackerClient } from '../../src/peer/tracker-client.js';
import { controlRequest, requestProgram } from '../../src/protocol/control-api.js';
import { systemClock } from '../../src/protocol/system-clock.js';
import { connectRedis, parseRedisUrl } from '../../src/store/redis-connection.js';
import { RedisRevocationStore } from '../../src/store/redis-revocation-store.js';
import { RedisSwarmStore } from '../../src/store/redis-swarm-store.js';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';
import { isCorruption } from '../../src/store/sqlite-errors.js';
import { createTracker, type Tracker } from '../../src/tracker/create-tracker.js';
import { connectRedisTestDb, REDIS_TEST_URL, relayTo, type RedisTestDb } from '../store/redis-test-db.js';

const PROGRAM = 'ch1';

async function waitFor<T>(what: string, check: () => T | Promise<T>, ms = 10_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface TrackerNode {
  tracker: Tracker;
  wsUrl: string;
  /** http://host:port, for /health. */
  base: string;
  swarm: RedisSwarmStore;
  revocations: RedisRevocationStore;
}

interface ViewerClient {
  user: string;
  sid: string;
  client: TrackerClient;
  /** Every sid this viewer was told to refuse (pushed or listed). */
  refused: Set<string>;
  disconnects: string[];
  token: string;
  clientKey: ReturnType<typeof generateKeyPairSync>['privateKey'];
  infoHash: string;
  /** The sids of its first `peers` answer. */
  listed: string[];
}

describe('two trackers on one Redis share their revocations (real control server, real clients)', () => {
  let db: RedisTestDb;
  let tmp: string;
  let control: ControlServer;
  let controlUrl: string;
  let admin: AdminClient;
  let relay1: Awaited<ReturnType<typeof relayTo>>;
  let relay2: Awaited<ReturnType<typeof relayTo>>;
  let t1: TrackerNode;
  let t2: TrackerNode;
  let ports = 20_000;
  const adminPassword = randomBytes(9).toString('base64url');
  const viewers: ViewerClient[] = [];
  const closers: Array<() => Promise<void>> = [];

  async function startTracker(id: string, redisUrl: string, secret: string, prefix: string): Promise<TrackerNode> {
    const target = parseRedisUrl(redisUrl);
    const revocations = new RedisRevocationStore(await connectRedis(target, () => undefined), await connectRedis(target, () => undefined), {
      prefix,
      clock: systemClock,
      display: target.display,
      retryMs: 200,
    });
    const swarm = new RedisSwarmStore(await connectRedis(target, () => undefined), { prefix, staleMs: 60_000, clock: systemClock, display: target.display, revocations });
    const tracker = await createTracker({ controlUrl, secret, trackerId: id, port: 0, store: swarm, heartbeatTimeoutMs: 30_000, clientRetryMs: 200, linkRetryMs: 200, webServer: webServerFactory() });
    const { wsUrl, announceUrl } = await tracker.start();
    await tracker.ready;
    closers.push(async () => {
      await tracker.stop();
      await swarm.close();
    });
    return { tracker, wsUrl, base: announceUrl.replace(/\/announce$/, ''), swarm, revocations };
  }

  async function viewerOn(node: TrackerNode, user: string): Promise<ViewerClient> {
    await admin.addUser(user, `pw-${user}`);
    await admin.grant(user, PROGRAM, null);
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const admission = await requestProgram(controlUrl, { program: PROGRAM, user, password: `pw-${user}`, clientKey: rawPublicKey(publicKey) });
    const client = new TrackerClient({
      wsUrl: node.wsUrl,
      infoHash: admission.metadata.info_hash,
      peerId: randomBytes(20).toString('hex'),
      port: ports++,
      token: () => admission.token,
      sid: admission.session,
      clientKey: privateKey,
      clock: systemClock,
    });
    const v: ViewerClient = { user, sid: admission.session, client, refused: new Set(), disconnects: [], token: admission.token, clientKey: privateKey, infoHash: admission.metadata.info_hash, listed: [] };
    client.on('revoked', ({ sid }) => v.refused.add(sid));
    // A client that ignores its kick: the other viewers and trackers must cut it off by themselves.
    client.on('disconnect', ({ id }) => v.disconnects.push(id));
    v.listed = (await client.start()).map((p) => p.sid);
    viewers.push(v);
    return v;
  }

  /** The kicked session's client, on `node`, with its token and key: what a client that ignores its kick would do. */
  async function comeBack(v: ViewerClient, node: TrackerNode): Promise<unknown> {
    const client = new TrackerClient({ wsUrl: node.wsUrl, infoHash: v.infoHash, peerId: randomBytes(20).toString('hex'), port: ports++, token: () => v.token, sid: v.sid, clientKey: v.clientKey, clock: systemClock });
    try {
      await client.start();
      return null;
    } catch (err) {
      return err;
    } finally {
      client.close();
    }
  }

  async function health(node: TrackerNode): Promise<{ status: string; codes: string[] }> {
    const body = (await (await fetch(`${node.base}/health`)).json()) as { status: string; reasons: Array<{ code: string }> };
    return { status: body.status, codes: body.reasons.map((r) => r.code) };
  }

  const kick = (sid: string): Promise<unknown> =>
    controlRequest(controlUrl, '/v1/admin/kick', { method: 'POST', body: { session: sid, reason: 'operator' }, basic: { user: 'admin', password: adminPassword } });

  before(async () => {
    db = await connectRedisTestDb();
    tmp = mkdtempSync(join(tmpdir(), 'gatecast-revocations-'));
    const store = SqliteControlStore.open(join(tmp, 'control.db'));
    const trackerSecret = randomBytes(18).toString('base64url');
    control = await createControlServer({ store, clock: systemClock, adminPassword, trackerSecret, webServer: webServerFactory(), isDatabaseCorrupt: isCorruption });
    controlUrl = await control.listen(0, '127.0.0.1');
    closers.push(async () => {
      await control.close();
      await store.close();
    });
    admin = adminClient(controlUrl, adminPassword);
    await admin.addProgram({ id: PROGRAM, title: PROGRAM, source_key: rawPublicKey(generateKeyPairSync('ed25519').privateKey) });
    const local = parseRedisUrl(REDIS_TEST_URL);
    relay1 = await relayTo(local.port, local.host);
    relay2 = await relayTo(local.port, local.host);
    const prefix = db.freshPrefix();
    t1 = await startTracker('t1', `redis://127.0.0.1:${relay1.port}/${local.db}`, trackerSecret, prefix);
    t2 = await startTracker('t2', `redis://127.0.0.1:${relay2.port}/${local.db}`, trackerSecret, prefix);
  });

  after(async () => {
    for (const v of viewers) v.client.close();
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await relay1?.close();
    await relay2?.close();
    await db?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('a viewer kicked on T1: viewers on T2 are told to refuse it, a newcomer on T2 gets it in its peers answer, T2 refuses its announce', async () => {
    const mallory = await viewerOn(t1, 'mallory');
    const alice = await viewerOn(t1, 'alice');
    const bob = await viewerOn(t2, 'bob');
    const carol = await viewerOn(t2, 'carol');
    await waitFor('all four listed in the shared swarm', async () => (await t2.tracker.peers(mallory.infoHash)).length === 4);
    assert.deepEqual(t1.tracker.sessions().sort(), [mallory.sid, alice.sid].sort());

    const t0 = Date.now();
    await kick(mallory.sid);
    await waitFor('T1 revoked mallory', () => t1.tracker.isRevoked(mallory.sid));
    await waitFor('the viewers on T2 were told to refuse mallory', () => bob.refused.has(mallory.sid) && carol.refused.has(mallory.sid));
    const ms = Date.now() - t0;
    assert.ok(alice.refused.has(mallory.sid), 'and the viewer on T1, as before');
    assert.equal(t2.tracker.isRevoked(mallory.sid), true);
    assert.ok(ms < 5_000, `reached T2's viewers ${ms} ms after the kick`);

    const dave = await viewerOn(t2, 'dave');
    assert.ok(dave.refused.has(mallory.sid), 'a newcomer on T2 learns it from its peers answer');
    const refused = await comeBack(mallory, t2);
    assert.ok(refused instanceof ClientError && refused.code === 'token_revoked', `T2 refuses the kicked session: ${String(refused)}`);
    assert.ok(dave.listed.includes(alice.sid) && dave.listed.includes(bob.sid), `dave is given the others across both trackers: ${dave.listed.join(', ')}`);
    assert.ok(!dave.listed.includes(mallory.sid), 'but never the kicked session');
  });

  it('Redis cut under T2 during a kick on T1: T2 learns it when Redis is back (its viewers told, announces refused); cut under T1: its share is stored when back', async () => {
    const erin = await viewerOn(t1, 'erin');
    const frank = await viewerOn(t2, 'frank');
    relay2.cut();
    await waitFor('T2 sees Redis gone', () => !t2.revocations.status().reachable);
    assert.deepEqual(await health(t2), { status: 'degraded', codes: ['shared_store_unreachable'] });
    assert.deepEqual(await health(t1), { status: 'ok', codes: [] });
    await kick(erin.sid);
    await waitFor('T1 revoked erin', () => t1.tracker.isRevoked(erin.sid));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(t2.tracker.isRevoked(erin.sid), false, 'cut off: not heard yet');
    relay2.restore();
    await waitFor('T2 learned erin after the reconnect', () => t2.tracker.isRevoked(erin.sid));
    await waitFor("frank (on T2) told to refuse erin", () => frank.refused.has(erin.sid));
    assert.deepEqual(await health(t2), { status: 'ok', codes: [] });

    const gina = await viewerOn(t1, 'gina');
    relay1.cut();
    await waitFor('T1 sees Redis gone', () => !t1.revocations.status().reachable);
    // The kick needs no Redis: T1 revokes at once, and its share waits.
    await kick(gina.sid);
    await waitFor('T1 revoked gina', () => t1.tracker.isRevoked(gina.sid));
    await waitFor('the share waits in T1', () => t1.revocations.status().backlog === 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(t2.tracker.isRevoked(gina.sid), false);
    relay1.restore();
    await waitFor('T2 learned gina once T1 could share it', () => t2.tracker.isRevoked(gina.sid));
    await waitFor('frank told to refuse gina', () => frank.refused.has(gina.sid));
    assert.deepEqual(t1.revocations.status(), { reachable: true, backlog: 0 });
    const refused = await comeBack(gina, t2);
    assert.ok(refused instanceof ClientError && refused.code === 'token_revoked', String(refused));
  });
});
