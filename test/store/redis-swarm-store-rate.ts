/**
 * Figures for docs/OPERATIONS.md, not a test: `node --import tsx test/store/redis-swarm-store-rate.ts [peers]`.
 *   - bytes per peer in Redis (MEMORY USAGE of a swarm's keys, exact), for a swarm of `peers` and one of 100;
 *   - announces/s of the store alone, memory vs Redis (with staleness on, as the CLI runs it): one announce is what the tracker asks of its store
 *     (sample 30 excluding the requester, count, then put the refreshed peer), one at a time and 64 in flight.
 * Works under a key prefix of its own, deleted at the end.
 */
import { randomBytes } from 'node:crypto';
import type { SwarmPeer, SwarmStore } from '../../src/core/ports.js';
import { ManualClock } from '../../src/core/clock.js';
import { DEFAULTS } from '../../src/core/config.js';
import { MemorySwarmStore } from '../../src/store/memory-swarm-store.js';
import { connectRedisTestDb } from './redis-test-db.js';

const N = Number(process.argv[2] ?? 5_000);
const H = randomBytes(20).toString('hex');

function peer(i: number): SwarmPeer {
  return {
    sid: randomBytes(16).toString('base64url'), // a control server's session id
    user: `viewer${i}`,
    peerId: randomBytes(20).toString('hex'),
    ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    port: 6881 + (i % 1000),
    role: i === 0 ? 'source' : 'viewer',
    lastSeen: Date.now(),
  };
}

async function fill(store: SwarmStore, infoHash: string, n: number): Promise<SwarmPeer[]> {
  const peers = Array.from({ length: n }, (_, i) => peer(i));
  for (let i = 0; i < n; i += 200) await Promise.all(peers.slice(i, i + 200).map((p) => store.put(infoHash, p)));
  return peers;
}

async function announcesPerSecond(store: SwarmStore, peers: SwarmPeer[], total: number, inFlight: number): Promise<number> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const p = peers[next++ % peers.length] as SwarmPeer;
      await store.sample(H, 30, p.sid);
      await store.count(H);
      await store.put(H, { ...p, lastSeen: Date.now() });
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return Math.round(total / ((performance.now() - t0) / 1000));
}

const db = await connectRedisTestDb();
try {
  const prefix = db.freshPrefix();
  // As `gatecast tracker --swarm-store` runs it: stale peers trimmed on every read, keys given a TTL on every put.
  const redis = await db.store({ prefix, staleMs: DEFAULTS.swarmStaleMs, clock: new ManualClock(Date.now()) });
  const memory = new MemorySwarmStore();
  const peers = await fill(redis, H, N);
  for (const p of peers) await memory.put(H, p);
  const keys = [`${prefix}peers:${H}`, `${prefix}seen:${H}`, `${prefix}sources:${H}`];
  const usage = async (ks: string[]): Promise<number[]> => Promise.all(ks.map(async (k) => Number(await db.admin.memory('USAGE', k, 'SAMPLES', 0))));
  const big = await usage(keys);
  const smallPrefix = db.freshPrefix();
  const small = await db.store({ prefix: smallPrefix });
  await fill(small, H, 100);
  const little = await usage([`${smallPrefix}peers:${H}`, `${smallPrefix}seen:${H}`, `${smallPrefix}sources:${H}`]);
  await small.close();
  const perPeer = (b: number[]): string => `${b.map((x) => x).join(' + ')} B → ${(b.reduce((a, x) => a + x, 0)).toLocaleString('en')} B`;
  console.log(`Redis ${N} peers: hash + zset + sources = ${perPeer(big)}, ${Math.round(big.reduce((a, x) => a + x, 0) / N)} B/peer ` +
    `(hash ${Math.round((big[0] as number) / N)}, zset ${Math.round((big[1] as number) / N)})`);
  console.log(`Redis 100 peers (listpack encoding): ${perPeer(little)}, ${Math.round(little.reduce((a, x) => a + x, 0) / 100)} B/peer`);
  const ops = 20_000;
  for (const inFlight of [1, 64]) {
    const m = await announcesPerSecond(memory, peers, ops * 5, inFlight);
    const r = await announcesPerSecond(redis, peers, ops, inFlight);
    console.log(`announces/s (sample 30 + count + put, ${N}-peer swarm, ${inFlight} in flight): memory ${m}, redis ${r}`);
  }
  await redis.close();
  await memory.close();
} finally {
  await db.cleanup();
}
