/**
 * The Redis revocation store: the compliance suite the memory store runs,
 * then what only Redis has to show: the key layout and its TTL, text it did
 * not write ignored, scripts reloaded after a flush, and a cut connection
 * (a TCP relay cut and restored) that loses no revocation either way: one
 * shared while cut off is stored once Redis is back, and one published while
 * a tracker was cut off reaches it when it reconnects.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { ManualClock, type Clock } from '../../src/core/clock.js';
import { DEFAULTS } from '../../src/core/config.js';
import { systemClock } from '../../src/protocol/system-clock.js';
import { connectRedis, parseRedisUrl } from '../../src/store/redis-connection.js';
import { decodeRevocation, RedisRevocationStore } from '../../src/store/redis-revocation-store.js';
import { connectRedisTestDb, REDIS_TEST_URL, relayTo } from './redis-test-db.js';
import { Heard, record, runRevocationStoreSuite, settle } from './revocation-store-suite.js';

const db = await connectRedisTestDb();
after(async () => {
  await db.cleanup();
});
const target = parseRedisUrl(REDIS_TEST_URL);

async function openStore(
  prefix: string,
  clock: Pick<Clock, 'now' | 'setTimeout'>,
  url = REDIS_TEST_URL,
  errors: Error[] = [],
  probeMs: number | null = null,
): Promise<{ store: RedisRevocationStore; redis: Redis; sub: Redis }> {
  const t = parseRedisUrl(url);
  const redis = await connectRedis(t, () => undefined);
  const sub = await connectRedis(t, () => undefined);
  const store = new RedisRevocationStore(redis, sub, { prefix, clock, display: t.display, retryMs: 50, probeMs, onError: (e) => errors.push(e) });
  return { store, redis, sub };
}

runRevocationStoreSuite('redis', async () => {
  const prefix = db.freshPrefix();
  const clock = new ManualClock();
  const opened: RedisRevocationStore[] = [];
  return {
    clock,
    open: async () => {
      const { store } = await openStore(prefix, clock);
      opened.push(store);
      return store;
    },
    close: async () => {
      for (const s of opened) await s.close();
    },
  };
});

describe('Redis revocation store', () => {
  it('keeps one hash and one zset under the prefix, with a TTL up to the latest keepUntil, and reads back what it wrote', async () => {
    const prefix = db.freshPrefix();
    const clock = new ManualClock();
    const { store } = await openStore(prefix, clock);
    try {
      const heard = new Heard();
      await store.subscribe(heard.take);
      const now = clock.now();
      const r = record('s1', now, { ref: 'dc-1', reason: 'operator', keepUntil: now + 60_000 });
      store.share(r);
      await heard.waitFor('s1');
      assert.deepEqual((await db.keys()).filter((k) => k.startsWith(prefix)).sort(), [`${prefix}revoked`, `${prefix}revoked:keep`]);
      const text = await db.admin.hget(`${prefix}revoked`, 's1');
      assert.ok(text !== null);
      assert.deepEqual(decodeRevocation(text), r);
      assert.equal(Number(await db.admin.zscore(`${prefix}revoked:keep`, 's1')), now + 60_000);
      const ttl = await db.admin.pttl(`${prefix}revoked`);
      assert.ok(ttl > 59_000 && ttl <= 60_000, `the list's keys expire with their latest entry (pttl ${ttl})`);
    } finally {
      await store.close();
    }
  });

  it('ignores text it did not write, in the hash and on the channel', async () => {
    const prefix = db.freshPrefix();
    const clock = new ManualClock();
    await db.admin.hset(`${prefix}revoked`, 'junk', '{"sid":"junk"}', 'worse', 'not json');
    const { store } = await openStore(prefix, clock);
    try {
      const heard = new Heard();
      await store.subscribe(heard.take);
      await db.admin.publish(`${prefix}revoked`, '[1,2]');
      store.share(record('good', clock.now()));
      await heard.waitFor('good');
      assert.deepEqual(heard.sids(), ['good']);
    } finally {
      await store.close();
    }
  });

  it('reloads its script when Redis has lost it (restarted or SCRIPT FLUSH)', async () => {
    const prefix = db.freshPrefix();
    const clock = new ManualClock();
    const { store } = await openStore(prefix, clock);
    try {
      const heard = new Heard();
      await store.subscribe(heard.take);
      store.share(record('before', clock.now()));
      await heard.waitFor('before');
      await db.admin.script('FLUSH');
      store.share(record('after', clock.now()));
      await heard.waitFor('after');
    } finally {
      await store.close();
    }
  });

  it('a cut loses nothing: a share made while cut off is stored when Redis is back, and what others shared meanwhile reaches the tracker that was cut off', async () => {
    const prefix = db.freshPrefix();
    const clock = new ManualClock();
    const relay = await relayTo(target.port, target.host);
    const errors: Error[] = [];
    const cut = await openStore(prefix, clock, `redis://127.0.0.1:${relay.port}/${target.db}`, errors);
    const other = await openStore(prefix, clock);
    try {
      const [hCut, hOther] = [new Heard(), new Heard()];
      await cut.store.subscribe(hCut.take);
      await other.store.subscribe(hOther.take);
      assert.deepEqual(cut.store.status(), { reachable: true, backlog: 0 });

      relay.cut();
      await Promise.all([once(cut.redis, 'close'), once(cut.sub, 'close')]);
      const now = clock.now();
      cut.store.share(record('from-cut', now, { ref: 'dc-cut', reason: 'operator' }));
      other.store.share(record('while-cut', now, { ref: 'dc-other', reason: 'operator' }));
      await hOther.waitFor('while-cut');
      await settle(200);
      assert.equal(hCut.last('while-cut'), undefined, 'published while the tracker was cut off: not heard yet');
      assert.equal(hOther.last('from-cut'), undefined, 'not stored while cut off');
      assert.deepEqual(cut.store.status(), { reachable: false, backlog: 1 });
      assert.ok(errors.some((e) => /failed on share/.test(e.message)), 'the failed share is reported');

      relay.restore();
      assert.equal((await hCut.waitFor('while-cut')).ref, 'dc-other', 'reloaded after the reconnect');
      assert.equal((await hOther.waitFor('from-cut')).ref, 'dc-cut', 'stored and published once back');
      assert.deepEqual(cut.store.status(), { reachable: true, backlog: 0 });
      // And the channel works again both ways.
      other.store.share(record('after', clock.now()));
      await hCut.waitFor('after');
    } finally {
      await cut.store.close();
      await other.store.close();
      await relay.close();
    }
  });

  it('a Redis that keeps the connection but stops answering is found by the probe (unreachable), and reachable again when it answers', async () => {
    const relay = await relayTo(target.port, target.host);
    const { store } = await openStore(db.freshPrefix(), systemClock, `redis://127.0.0.1:${relay.port}/${target.db}`, [], 100);
    try {
      await store.subscribe(() => undefined);
      assert.equal(store.status().reachable, true);
      relay.stall();
      const t0 = Date.now();
      const until = t0 + DEFAULTS.swarmRedisCommandTimeoutMs + 3_000;
      while (store.status().reachable && Date.now() < until) await settle(20);
      assert.equal(store.status().reachable, false, 'the stall is seen though every connection is still up');
      relay.restore();
      const back = Date.now() + 3_000;
      while (!store.status().reachable && Date.now() < back) await settle(20);
      assert.equal(store.status().reachable, true);
    } finally {
      await store.close();
      await relay.close();
    }
  });
});
