/**
 * Two trackers on one Redis swarm store (issue 12 part 2), through real HTTP
 * announces: a viewer announced on T1 is in the list T2 gives its own viewer,
 * and the other way round; with Redis cut off under T1, its announces fail
 * with a bencoded failure at once (logged with the Redis error), the process
 * stays up, and announces work again when Redis is back, with no restart.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Redis } from 'ioredis';
import { ManualClock } from '../../src/core/clock.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import { connectRedis, parseRedisUrl } from '../../src/store/redis-connection.js';
import { RedisSwarmStore } from '../../src/store/redis-swarm-store.js';
import { createTracker, type Tracker } from '../../src/tracker/create-tracker.js';
import { STORE_UNAVAILABLE } from '../../src/tracker/http-frontend.js';
import { connectRedisTestDb, REDIS_TEST_URL, relayTo, type RedisTestDb } from '../store/redis-test-db.js';
import { announceHttp, announceQuery, compactToList, failureOf, infoHashOf, mintToken, peerIdOf, SECRET, startFakeControl, type FakeControl } from './helpers.js';

interface Node {
  tracker: Tracker;
  control: FakeControl;
  clock: ManualClock;
  store: RedisSwarmStore;
  redis: Redis;
  announceUrl: string;
  logs: string[];
}

async function startNode(redisUrl: string, prefix: string): Promise<Node> {
  const clock = new ManualClock();
  const control = await startFakeControl();
  const target = parseRedisUrl(redisUrl);
  const redis = await connectRedis(target, () => undefined);
  const store = new RedisSwarmStore(redis, { prefix, staleMs: null, clock, display: target.display });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const tracker = await createTracker({ controlUrl: control.url, secret: SECRET, clock, store, webServer: webServerFactory(), logger: pino({ level: 'error' }, sink) });
  const { announceUrl } = await tracker.start();
  await tracker.ready;
  return { tracker, control, clock, store, redis, announceUrl, logs };
}

describe('two trackers sharing a Redis swarm store', () => {
  const H = infoHashOf('shared');
  let db: RedisTestDb;
  let relay: Awaited<ReturnType<typeof relayTo>>;
  let t1: Node;
  let t2: Node;
  const announce = async (node: Node, sid: string, n: number, role: 'viewer' | 'source' = 'viewer') =>
    announceHttp(node.announceUrl, announceQuery({ infoHash: H, peerId: peerIdOf(n), port: 7000 + n, token: await mintToken(node.control, node.clock, { sid, prg: 'shared', role }) }));

  before(async () => {
    db = await connectRedisTestDb();
    const local = parseRedisUrl(REDIS_TEST_URL);
    relay = await relayTo(local.port, local.host);
    const prefix = db.freshPrefix();
    t1 = await startNode(`redis://127.0.0.1:${relay.port}/${local.db}`, prefix);
    t2 = await startNode(REDIS_TEST_URL, prefix);
  });
  after(async () => {
    for (const node of [t1, t2]) {
      await node.tracker.stop();
      await node.store.close();
      await node.control.close();
    }
    await relay.close();
    await db.cleanup();
  });

  it('lists a client of T1 to a client of T2 and the other way round, and counts the swarm as one', async () => {
    assert.equal(failureOf(await announce(t1, 'src', 0, 'source')), undefined);
    assert.equal(failureOf(await announce(t1, 'on-t1', 1)), undefined);
    const fromT2 = await announce(t2, 'on-t2', 2);
    assert.equal(failureOf(fromT2), undefined);
    assert.deepEqual(compactToList(fromT2['peers']).sort(), ['127.0.0.1:7000', '127.0.0.1:7001']);
    assert.equal(fromT2['complete'], 1);
    assert.equal(fromT2['incomplete'], 1, 'counted before its own write, as on one tracker');
    const again = await announce(t1, 'on-t1', 1);
    assert.deepEqual(compactToList(again['peers']).sort(), ['127.0.0.1:7000', '127.0.0.1:7002']);
    assert.equal(again['incomplete'], 2);
  });

  it('with Redis cut off, T1 answers "unavailable, try again" at once and logs why; it serves again when Redis is back', async () => {
    relay.cut();
    await once(t1.redis, 'close');
    const t0 = performance.now();
    const res = await announce(t1, 'on-t1', 1);
    assert.equal(failureOf(res), STORE_UNAVAILABLE);
    assert.ok(performance.now() - t0 < 500, 'not held until Redis is back');
    assert.ok(t1.logs.some((l) => l.includes(`swarm store: Redis at redis://127.0.0.1:${relay.port}/`) && l.includes('failed on sample')), 'the log names Redis and the operation');
    // T2, on its own connection, is untouched.
    assert.equal(failureOf(await announce(t2, 'on-t2', 2)), undefined);

    relay.restore();
    await once(t1.redis, 'ready');
    const back = await announce(t1, 'on-t1', 1);
    assert.equal(failureOf(back), undefined);
    assert.deepEqual(compactToList(back['peers']).sort(), ['127.0.0.1:7000', '127.0.0.1:7002']);
  });
});
