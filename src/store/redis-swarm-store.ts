/**
 * Swarm state in Redis, shared by every tracker of a program: a client
 * announced on tracker T1 is in the lists T2 hands out. Behind the same
 * SwarmStore port and compliance suite as the memory store.
 *
 * Key layout (after the prefix, `gatecast:` by default), after chihaya's one
 * hash per swarm:
 *   peers:<infoHash>    hash   sid → packed peer (redis-peer-codec.ts, ~50 B + user), with the store that wrote it
 *   seen:<infoHash>     zset   sid scored by lastSeen: expiry in order, without a scan
 *   sources:<infoHash>  set    sids in the source role: the scrape's seeders
 *   swarms              set    info hashes with peers: what expire() walks
 * The field is the session id, where chihaya's peer key is id + port + IP:
 * the port looks peers up by session, and a client that moves to another
 * tracker with the same session then overwrites its own entry instead of
 * leaving a twin behind. remove() deletes only a peer this store wrote last:
 * the tracker the client left, timing it out later, leaves the new entry be.
 *
 * Expiry as in memory: expire(cutoff) removes and returns the peers last
 * seen before the cutoff. On top, with `staleMs`, reads drop (lazily, a batch
 * at a time) peers nobody has refreshed for that long, and every put gives
 * the swarm's keys that TTL: a tracker killed with clients on it cannot
 * leave them listed forever, since its own sweep died with it.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Clock } from '../core/clock.js';
import type { RevocationStore, SwarmPeer, SwarmStore } from '../core/ports.js';
import { connectRedis, parseRedisUrl, redisFailure } from './redis-connection.js';
import { decodePeer, encodePeer, OWNER_BYTES } from './redis-peer-codec.js';
import { COUNT, EXPIRE, LIST, PUT, REMOVE, SAMPLE, TRIM_BATCH, type LuaScript } from './redis-swarm-scripts.js';

export interface RedisSwarmStoreOptions {
  /** Prepended to every key: trackers sharing a program share it; tests use one of their own. */
  prefix: string;
  /** Peers not refreshed for this long are dropped by reads and key TTLs; null: only expire() drops them. */
  staleMs: number | null;
  clock: Pick<Clock, 'now'>;
  /** The URL without password, for error messages. */
  display: string;
  /** OWNER_BYTES bytes naming this store in the peers it writes (default: random, one per store). */
  owner?: Buffer;
  /** The revocation list shared over the same Redis (redis-revocation-store.ts): handed to the tracker with the store, closed with it. */
  revocations?: RevocationStore;
}

function isBuffer(v: unknown): v is Buffer {
  return Buffer.isBuffer(v);
}

/** [field, value, field, value, …] of buffers as peers; throws on any other reply. */
function peersOf(reply: unknown): SwarmPeer[] {
  if (!Array.isArray(reply) || reply.length % 2 !== 0) throw new Error('unexpected reply: not a list of pairs');
  const out: SwarmPeer[] = [];
  for (let i = 0; i < reply.length; i += 2) {
    const sid: unknown = reply[i];
    const value: unknown = reply[i + 1];
    if (!isBuffer(sid) || !isBuffer(value)) throw new Error('unexpected reply: a field or value is not a string');
    out.push(decodePeer(sid.toString('utf8'), value));
  }
  return out;
}

function integer(reply: unknown): number {
  if (typeof reply !== 'number' || !Number.isInteger(reply)) throw new Error(`unexpected reply: ${String(reply)} is not an integer`);
  return reply;
}

export class RedisSwarmStore implements SwarmStore {
  private readonly swarmsKey: string;
  /** What createTracker shares revocations through, when the store was opened with them. */
  readonly revocations: RevocationStore | undefined;
  private readonly owner: Buffer;

  constructor(
    private readonly redis: Redis,
    private readonly opts: RedisSwarmStoreOptions,
  ) {
    this.swarmsKey = `${opts.prefix}swarms`;
    this.revocations = opts.revocations;
    this.owner = opts.owner ?? randomBytes(OWNER_BYTES);
  }

  async put(infoHash: string, peer: SwarmPeer): Promise<boolean> {
    const ttl = this.opts.staleMs === null ? 0 : this.opts.staleMs;
    const args = [peer.sid, encodePeer(peer, this.owner), String(peer.lastSeen), peer.role === 'source' ? '1' : '0', String(ttl)];
    return integer(await this.run('put', PUT, infoHash, args)) === 1;
  }

  async get(infoHash: string, sid: string): Promise<SwarmPeer | undefined> {
    let value: Buffer | null;
    try {
      value = await this.redis.hgetBuffer(this.keys(infoHash)[0], sid);
    } catch (err) {
      throw redisFailure(this.opts.display, 'get', err);
    }
    if (value === null) return undefined;
    try {
      return decodePeer(sid, value);
    } catch (err) {
      throw redisFailure(this.opts.display, 'get', err);
    }
  }

  async remove(infoHash: string, sid: string): Promise<boolean> {
    return integer(await this.run('remove', REMOVE, infoHash, [sid, this.owner])) === 1;
  }

  async sample(infoHash: string, n: number, excludeSid: string | null): Promise<SwarmPeer[]> {
    if (n <= 0) return [];
    // One more than wanted when a sid is excluded: if it is drawn, dropping it still leaves n.
    const ask = excludeSid === null ? n : n + 1;
    const got = await this.peers('sample', SAMPLE, infoHash, [this.cutoff(), String(ask)]);
    const kept = excludeSid === null ? got : got.filter((p) => p.sid !== excludeSid);
    return kept.length > n ? kept.slice(0, n) : kept;
  }

  async list(infoHash: string): Promise<SwarmPeer[]> {
    return this.peers('list', LIST, infoHash, [this.cutoff()]);
  }

  async count(infoHash: string): Promise<{ seeders: number; leechers: number }> {
    const reply = await this.run('count', COUNT, infoHash, [this.cutoff()]);
    if (!Array.isArray(reply) || reply.length !== 2) throw redisFailure(this.opts.display, 'count', new Error('unexpected reply'));
    return { seeders: integer(reply[0]), leechers: integer(reply[1]) };
  }

  async expire(cutoff: number): Promise<Array<{ infoHash: string; peer: SwarmPeer }>> {
    const gone: Array<{ infoHash: string; peer: SwarmPeer }> = [];
    let cursor = '0';
    do {
      let reply: [cursor: string, elements: string[]];
      try {
        reply = await this.redis.sscan(this.swarmsKey, cursor, 'COUNT', 100);
      } catch (err) {
        throw redisFailure(this.opts.display, 'expire', err);
      }
      cursor = reply[0];
      for (const infoHash of reply[1]) {
        // Batch by batch, so Redis is never blocked long by a big swarm of stale peers.
        for (;;) {
          const batch = await this.peers('expire', EXPIRE, infoHash, [String(cutoff), String(TRIM_BATCH)]);
          for (const peer of batch) gone.push({ infoHash, peer });
          if (batch.length < TRIM_BATCH) break;
        }
      }
    } while (cursor !== '0');
    return gone;
  }

  async close(): Promise<void> {
    await this.revocations?.close();
    // quit() waits for replies still due; a connection already down has nothing to wait for.
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
  }

  private cutoff(): string {
    return this.opts.staleMs === null ? '' : String(this.opts.clock.now() - this.opts.staleMs);
  }

  private keys(infoHash: string): [string, string, string, string] {
    const p = this.opts.prefix;
    return [`${p}peers:${infoHash}`, `${p}seen:${infoHash}`, `${p}sources:${infoHash}`, this.swarmsKey];
  }

  /** A script's [sid, packed, …] reply as peers; a reply this store did not write is a failure like any other. */
  private async peers(op: string, script: LuaScript, infoHash: string, args: string[]): Promise<SwarmPeer[]> {
    const reply = await this.run(op, script, infoHash, args);
    try {
      return peersOf(reply);
    } catch (err) {
      throw redisFailure(this.opts.display, op, err);
    }
  }

  /** EVALSHA, loading the script on NOSCRIPT (a Redis restarted or flushed since the last call). */
  private async run(op: string, script: LuaScript, infoHash: string, args: Array<string | Buffer>): Promise<unknown> {
    const keys = this.keys(infoHash);
    const rest = [keys.length, ...keys, infoHash, ...args];
    try {
      try {
        return await this.redis.callBuffer('EVALSHA', [script.sha, ...rest]);
      } catch (err) {
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
        return await this.redis.callBuffer('EVAL', [script.source, ...rest]);
      }
    } catch (err) {
      throw redisFailure(this.opts.display, op, err);
    }
  }
}

/** Opens the store named by `--swarm-store redis://HOST:PORT[/DB]`; rejects if Redis cannot be reached now. */
export async function openRedisSwarmStore(
  url: string,
  opts: Omit<RedisSwarmStoreOptions, 'display'> & { onError: (err: Error) => void },
): Promise<RedisSwarmStore> {
  const target = parseRedisUrl(url);
  const redis = await connectRedis(target, opts.onError);
  const { onError: _onError, ...rest } = opts;
  return new RedisSwarmStore(redis, { ...rest, display: target.display });
}
