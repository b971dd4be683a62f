/**
 * The Redis swarm store: the shared compliance suite (the one the memory store
 * runs), then what only a shared store has to show: two trackers' stores on one
 * prefix see each other's peers, concurrent sweeps hand each peer to one
 * sweeper, stale peers of a dead tracker leave by themselves, and a Redis that
 * goes away fails calls quickly with a clear error and is used again when back.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { ManualClock } from '../../src/core/clock.js';
import { DEFAULTS } from '../../src/core/config.js';
import { InternalError } from '../../src/core/errors.js';
import { isUnavailable, UnavailableError } from '../../src/core/unavailable.js';
import type { SwarmPeer } from '../../src/core/ports.js';
import { connectRedis, parseRedisUrl, RedisUnreachableError } from '../../src/store/redis-connection.js';
import { RedisSwarmStore } from '../../src/store/redis-swarm-store.js';
import { connectRedisTestDb, relayTo } from './redis-test-db.js';
import { runSwarmStoreSuite } from './swarm-store-suite.js';

const db = await connectRedisTestDb();
after(async () => {
  await db.cleanup();
});

runSwarmStoreSuite('redis', () => db.store());

const H = 'e'.repeat(40);

function peer(sid: string, over: Partial<SwarmPeer> = {}): SwarmPeer {
  return { sid, user: `u-${sid}`, peerId: '0123456789abcdef0123456789abcdef01234567', ip: '192.0.2.7', port: 7000, role: 'viewer', lastSeen: 5_000, ...over };
}

describe('Redis swarm store: shared by several trackers', () => {
  it('a peer put through one tracker\'s store is listed, sampled and counted through another\'s', async () => {
    const prefix = db.freshPrefix();
    const t1 = await db.store({ prefix });
    const t2 = await db.store({ prefix });
    try {
      assert.equal(await t1.put(H, peer('on-t1')), true);
      assert.equal(await t2.put(H, peer('on-t2', { role: 'source' })), true);
      // Re-announcing on the other tracker with the same session overwrites its entry: no twin.
      assert.equal(await t2.put(H, peer('on-t1', { port: 7001 })), false);
      assert.deepEqual((await t2.sample(H, 10, 'on-t2')).map((p) => p.sid), ['on-t1']);
      assert.deepEqual((await t1.sample(H, 10, 'on-t1')).map((p) => p.sid), ['on-t2']);
      assert.deepEqual(await t1.get(H, 'on-t1'), peer('on-t1', { port: 7001 }));
      assert.deepEqual(await t1.count(H), { seeders: 1, leechers: 1 });
      // Each tracker removes only what it wrote last (on-t1 moved to T2 above).
      assert.equal(await t1.remove(H, 'on-t2'), false);
      assert.equal(await t2.remove(H, 'on-t2'), true);
      assert.equal(await t2.remove(H, 'on-t2'), false);
      assert.deepEqual(await t2.count(H), { seeders: 0, leechers: 1 });
      assert.equal(await t1.remove(H, 'on-t1'), false);
      assert.equal(await t2.remove(H, 'on-t1'), true);
      assert.deepEqual(await db.keys().then((ks) => ks.filter((k) => k.startsWith(prefix))), [], 'an emptied swarm leaves no key behind');
    } finally {
      await t1.close();
      await t2.close();
    }
  });

  it('a client that moved from T1 to T2 stays listed when T1 later removes it (timeout, leave): compare-and-delete on the writer', async () => {
    const prefix = db.freshPrefix();
    const t1 = await db.store({ prefix });
    const t2 = await db.store({ prefix });
    try {
      await t1.put(H, peer('mover', { lastSeen: 1_000 }));
      await t1.put(H, peer('stays', { lastSeen: 1_000 }));
      // The client moves: same session, announced on T2 now.
      assert.equal(await t2.put(H, peer('mover', { port: 7100, lastSeen: 2_000 })), false);
      assert.equal(await t1.remove(H, 'mover'), false, "T1's late removal leaves T2's entry");
      assert.deepEqual(await t2.get(H, 'mover'), peer('mover', { port: 7100, lastSeen: 2_000 }));
      assert.deepEqual((await t1.list(H)).map((p) => p.sid).sort(), ['mover', 'stays']);
      // If it comes back to T1, T1 owns it again, and T2's late removal is the one refused.
      await t1.put(H, peer('mover', { lastSeen: 3_000 }));
      assert.equal(await t2.remove(H, 'mover'), false);
      assert.equal(await t1.remove(H, 'mover'), true);
      assert.equal(await t1.remove(H, 'stays'), true);
      assert.deepEqual(await db.keys().then((ks) => ks.filter((k) => k.startsWith(prefix))), []);
      // Expiry is not the writer's: a dead tracker's stale peers go to whoever sweeps.
      await t1.put(H, peer('stale', { lastSeen: 10 }));
      assert.deepEqual((await t2.expire(100)).map((g) => g.peer.sid), ['stale']);
    } finally {
      await t1.close();
      await t2.close();
    }
  });

  it('two trackers sweeping at once each get a stale peer back exactly once', async () => {
    const prefix = db.freshPrefix();
    const t1 = await db.store({ prefix });
    const t2 = await db.store({ prefix });
    try {
      const n = 1_500; // more than one script batch per swarm
      for (let i = 0; i < n; i++) await t1.put(i % 2 ? H : 'f'.repeat(40), peer(`p${i}`, { lastSeen: i }));
      const [a, b] = await Promise.all([t1.expire(1_000), t2.expire(1_000)]);
      const sids = [...a, ...b].map((g) => g.peer.sid);
      assert.equal(sids.length, 1_000);
      assert.deepEqual(new Set(sids), new Set(Array.from({ length: 1_000 }, (_, i) => `p${i}`)));
      assert.equal((await t2.list(H)).length + (await t2.list('f'.repeat(40))).length, n - 1_000);
    } finally {
      await t1.close();
      await t2.close();
    }
  });

  it('with staleMs, peers nobody refreshed leave the lists, counts and keys by themselves (a dead tracker\'s clients)', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const prefix = db.freshPrefix();
    const store = await db.store({ prefix, staleMs: 10_000, clock });
    try {
      const now = clock.now();
      await store.put(H, peer('dead-viewer', { lastSeen: now - 10_001 }));
      await store.put(H, peer('dead-source', { lastSeen: now - 20_000, role: 'source' }));
      await store.put(H, peer('live', { lastSeen: now - 10_000 }));
      assert.deepEqual(await store.count(H), { seeders: 0, leechers: 1 });
      assert.deepEqual((await store.sample(H, 10, null)).map((p) => p.sid), ['live']);
      assert.deepEqual((await store.list(H)).map((p) => p.sid), ['live']);
      assert.equal(await db.admin.hexists(`${prefix}peers:${H}`, 'dead-viewer'), 0, 'dropped from Redis, not just filtered');
      assert.equal(await db.admin.scard(`${prefix}sources:${H}`), 0);
      const ttl = await db.admin.pttl(`${prefix}peers:${H}`);
      assert.ok(ttl > 9_000 && ttl <= 10_000, `the swarm's keys expire unless refreshed (pttl ${ttl})`);
      clock.advance(1);
      assert.deepEqual(await store.sample(H, 10, null), []);
      assert.deepEqual(await db.keys().then((ks) => ks.filter((k) => k.startsWith(prefix))), []);
    } finally {
      await store.close();
    }
  });

  it('keeps any user name exactly, and fails clearly on a value it did not write', async () => {
    const prefix = db.freshPrefix();
    const store = await db.store({ prefix });
    try {
      const named = peer('named', { user: 'Zoë 😀 \u0000 end' });
      await store.put(H, named);
      assert.deepEqual(await store.get(H, 'named'), named);
      await db.admin.hset(`${prefix}peers:${H}`, 'junk', 'xy');
      await assert.rejects(store.get(H, 'junk'), (err: unknown) => err instanceof InternalError && /failed on get: swarm peer junk: value of 2 bytes is too short/.test(err.message));
      await assert.rejects(store.list(H), (err: unknown) => err instanceof InternalError && /failed on list: /.test(err.message));
    } finally {
      await store.close();
    }
  });

  it('reloads its scripts when Redis has lost them (restarted or SCRIPT FLUSH)', async () => {
    const store = await db.store();
    try {
      await store.put(H, peer('a'));
      await db.admin.script('FLUSH');
      assert.equal(await store.put(H, peer('b')), true);
      assert.deepEqual((await store.list(H)).map((p) => p.sid).sort(), ['a', 'b']);
    } finally {
      await store.close();
    }
  });
});

describe('Redis swarm store: Redis unreachable', () => {
  const local = parseRedisUrl(process.env['GATECAST_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379/0');

  it('refuses to open on a Redis it cannot reach, saying where and what to start', async () => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const address = probe.address();
    assert.ok(address !== null && typeof address !== 'string');
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await assert.rejects(connectRedis(parseRedisUrl(`redis://127.0.0.1:${address.port}/0`), () => undefined), (err: unknown) => {
      assert.ok(err instanceof RedisUnreachableError);
      assert.match(err.message, new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${address.port}/0: .+; start it \\(e\\.g\\. redis-server`));
      return true;
    });
  });

  it('a call while Redis is cut off fails at once, one on a stalled Redis within the command timeout, and the store recovers by itself', async () => {
    const relay = await relayTo(local.port, local.host);
    const errors: Error[] = [];
    const redis = await connectRedis(parseRedisUrl(`redis://127.0.0.1:${relay.port}/${local.db}`), (err) => errors.push(err));
    const store = new RedisSwarmStore(redis, { prefix: db.freshPrefix(), staleMs: null, clock: new ManualClock(), display: `redis://127.0.0.1:${relay.port}/${local.db}` });
    const failsClearly = (op: string) => (err: unknown) => {
      // Unreachable, not a bug: the tracker answers it `unavailable` and clients retry (core/unavailable.ts).
      assert.ok(err instanceof UnavailableError && isUnavailable(err), `an UnavailableError (the tracker answers it unavailable), got ${String(err)}`);
      assert.match(err.message, new RegExp(`^swarm store: Redis at redis://127\\.0\\.0\\.1:${relay.port}/\\d+ failed on ${op}: `));
      return true;
    };
    try {
      assert.equal(await store.put(H, peer('a')), true);

      relay.cut();
      await once(redis, 'close');
      let t0 = performance.now();
      await assert.rejects(store.sample(H, 5, null), failsClearly('sample'));
      await assert.rejects(store.put(H, peer('b')), failsClearly('put'));
      assert.ok(performance.now() - t0 < 200, 'no offline queue: the call fails at once instead of waiting for Redis');

      relay.restore();
      await once(redis, 'ready');
      assert.deepEqual((await store.list(H)).map((p) => p.sid), ['a'], 'reconnected by itself');

      relay.stall();
      t0 = performance.now();
      await assert.rejects(store.count(H), failsClearly('count'));
      const waited = performance.now() - t0;
      assert.ok(waited >= DEFAULTS.swarmRedisCommandTimeoutMs - 50 && waited < DEFAULTS.swarmRedisCommandTimeoutMs + 1_000, `failed after the command timeout (${Math.round(waited)} ms)`);
      relay.restore();
      assert.deepEqual(await store.count(H), { seeders: 0, leechers: 1 });
    } finally {
      await store.close();
      await relay.close();
    }
  });
});

describe('parseRedisUrl', () => {
  it('reads host, port and database, and shows the URL without its password', () => {
    assert.deepEqual(parseRedisUrl('redis://127.0.0.1:6380/2'), { host: '127.0.0.1', port: 6380, db: 2, username: undefined, password: undefined, display: 'redis://127.0.0.1:6380/2' });
    const withPassword = parseRedisUrl('redis://:s%40cret@redis.example:6379');
    assert.equal(withPassword.password, 's@cret');
    assert.equal(withPassword.db, 0);
    assert.equal(withPassword.display, 'redis://redis.example:6379/0');
    assert.equal(parseRedisUrl('redis://[::1]:7000/1').host, '::1');
  });

  it('refuses what is not a Redis URL, saying what is expected', () => {
    for (const bad of ['127.0.0.1:6379', 'http://127.0.0.1:6379', 'redis://127.0.0.1:6379/x', 'redis://127.0.0.1:6379/0?x=1', 'rediss://h:1']) {
      assert.throws(() => parseRedisUrl(bad), /redis:\/\/HOST:PORT\[\/DB\]|database must be a number/, bad);
    }
  });
});
