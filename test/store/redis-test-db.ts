/**
 * Redis for tests: the server on 127.0.0.1:6379 (.ci/run starts it;
 * GATECAST_TEST_REDIS_URL points elsewhere). A test run works under a key
 * prefix of its own, `gc:test:<random>:`, and cleanup() deletes every key
 * under it (SCAN + DEL), so runs overlap without meeting. An unreachable
 * server fails the tests with what to start: they are part of the suite,
 * never skipped.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { ManualClock } from '../../src/core/clock.js';
import { connectRedis, parseRedisUrl } from '../../src/store/redis-connection.js';
import { RedisSwarmStore } from '../../src/store/redis-swarm-store.js';

export const REDIS_TEST_URL = process.env['GATECAST_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379/0';

export interface RedisTestDb {
  /** This run's prefix: every key a test writes starts with it. */
  run: string;
  /** A new prefix under the run's, so a store made with it starts empty. */
  freshPrefix(): string;
  /** A store on its own connection; with no staleMs, peers leave only by remove() and expire(), as in memory. */
  store(opts?: { prefix?: string; staleMs?: number; clock?: ManualClock }): Promise<RedisSwarmStore>;
  /** A plain connection for looking at the keys. */
  admin: Redis;
  /** Keys of this run still in Redis. */
  keys(): Promise<string[]>;
  /** Deletes every key of this run and closes the admin connection. */
  cleanup(): Promise<void>;
}

export async function connectRedisTestDb(): Promise<RedisTestDb> {
  const target = parseRedisUrl(REDIS_TEST_URL);
  const run = `gc:test:${randomBytes(6).toString('hex')}:`;
  let admin: Redis;
  try {
    admin = await connectRedis(target, () => undefined);
  } catch (err) {
    throw new Error(
      `the Redis tests need a Redis server: ${err instanceof Error ? err.message : String(err)}. Start one ` +
        '(`redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no`, as .ci/run does), ' +
        'or point GATECAST_TEST_REDIS_URL at one',
    );
  }
  let prefixes = 0;
  const keys = async (): Promise<string[]> => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await admin.scan(cursor, 'MATCH', `${run}*`, 'COUNT', 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
    return found;
  };
  return {
    run,
    admin,
    freshPrefix: () => `${run}${++prefixes}:`,
    async store(opts = {}) {
      const redis = await connectRedis(target, () => undefined);
      return new RedisSwarmStore(redis, {
        prefix: opts.prefix ?? `${run}${++prefixes}:`,
        staleMs: opts.staleMs ?? null,
        clock: opts.clock ?? new ManualClock(),
        display: target.display,
      });
    },
    keys,
    async cleanup() {
      const left = await keys();
      for (let i = 0; i < left.length; i += 500) await admin.del(...left.slice(i, i + 500));
      await admin.quit();
    },
  };
}

/** A TCP relay to Redis that can cut every connection (and refuse new ones), stall them (hold what is sent), and restore. */
export async function relayTo(port: number, host: string): Promise<{ port: number; cut(): void; stall(): void; restore(): void; close(): Promise<void> }> {
  let mode: 'open' | 'cut' | 'stall' = 'open';
  const sockets = new Set<Socket>();
  let held: Array<() => void> = [];
  const server: Server = createServer((client) => {
    if (mode === 'cut') return void client.destroy();
    const upstream = connect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    // Stalled bytes wait, as TCP would keep them: a paused Redis, or a link that drops packets and retransmits.
    const forward = (to: Socket) => (d: Buffer) => {
      if (mode === 'open') to.write(d);
      else held.push(() => to.write(d));
    };
    client.on('data', forward(upstream));
    upstream.on('data', forward(client));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('relay has no port');
  return {
    port: address.port,
    cut() {
      mode = 'cut';
      for (const s of sockets) s.destroy();
    },
    stall() {
      mode = 'stall';
    },
    restore() {
      mode = 'open';
      const late = held;
      held = [];
      for (const write of late) write();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
