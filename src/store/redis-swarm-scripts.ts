/**
 * The Redis swarm store's writes as Lua scripts, so each one changes a
 * swarm's keys at once: a tracker reading between two commands of another
 * tracker's put never sees a peer in the hash but not in the last-seen set,
 * and of two trackers sweeping the same stale peer only one gets it back.
 *
 * Every script takes the same four keys (redis-swarm-store.ts names them):
 *   KEYS[1] hash   sid → packed peer (redis-peer-codec.ts)
 *   KEYS[2] zset   sid scored by lastSeen (epoch ms): the sweep's order
 *   KEYS[3] set    sids in the source role: the scrape's seeders
 *   KEYS[4] set    info hashes that have peers: what the sweep walks
 * and ARGV[1] = the info hash. A swarm's keys are deleted with its last peer.
 */
import { createHash } from 'node:crypto';

export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

function script(body: string): LuaScript {
  const source = `${PRELUDE}\n${body}`;
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** The peers a batch may touch at once: Lua's unpack and the time Redis is blocked both stay small. */
export const TRIM_BATCH = 512;

const PRELUDE = `
local function drop(sids)
  redis.call('HDEL', KEYS[1], unpack(sids))
  redis.call('ZREM', KEYS[2], unpack(sids))
  redis.call('SREM', KEYS[3], unpack(sids))
end
local function forget_if_empty()
  if redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('DEL', KEYS[2], KEYS[3])
    redis.call('SREM', KEYS[4], ARGV[1])
  end
end
-- Lazy expiry: drop up to one batch of peers last seen before the cutoff ('' = never).
local function trim(cutoff)
  if cutoff == '' then return end
  local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. cutoff, 'LIMIT', 0, ${TRIM_BATCH})
  if #old == 0 then return end
  drop(old)
  forget_if_empty()
end`;

/**
 * ARGV: infoHash, sid, packed peer, lastSeen, '1' if a source, key TTL in ms ('0': none). Returns 1 if new.
 * A swarm whose hash is gone starts clean, so a last-seen or source set left by a key TTL that fired a moment
 * apart from the hash's cannot count peers that no longer exist.
 */
export const PUT = script(`
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('DEL', KEYS[2], KEYS[3]) end
local new = redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
if ARGV[5] == '1' then redis.call('SADD', KEYS[3], ARGV[2]) else redis.call('SREM', KEYS[3], ARGV[2]) end
redis.call('SADD', KEYS[4], ARGV[1])
local ttl = tonumber(ARGV[6])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return new`);

/**
 * ARGV: infoHash, sid, owner. Returns 1 if the peer was there and removed. Compare-and-delete: only when the
 * stored peer's owner bytes (redis-peer-codec.ts, 1-based 10–17) are `owner`, so a tracker a client moved away
 * from cannot remove the entry the tracker it moved to wrote since.
 */
export const REMOVE = script(`
local value = redis.call('HGET', KEYS[1], ARGV[2])
if not value or string.sub(value, 10, 17) ~= ARGV[3] then return 0 end
local gone = redis.call('HDEL', KEYS[1], ARGV[2])
if gone == 1 then
  redis.call('ZREM', KEYS[2], ARGV[2])
  redis.call('SREM', KEYS[3], ARGV[2])
  forget_if_empty()
end
return gone`);

/** ARGV: infoHash, stale cutoff, count. Up to `count` distinct peers at random, as [sid, packed, …]. */
export const SAMPLE = script(`
trim(ARGV[2])
return redis.call('HRANDFIELD', KEYS[1], ARGV[3], 'WITHVALUES')`);

/** ARGV: infoHash, stale cutoff. Returns [seeders, leechers]. */
export const COUNT = script(`
trim(ARGV[2])
local sources = redis.call('SCARD', KEYS[3])
return { sources, redis.call('HLEN', KEYS[1]) - sources }`);

/** ARGV: infoHash, stale cutoff. Every peer as [sid, packed, …]. */
export const LIST = script(`
trim(ARGV[2])
return redis.call('HGETALL', KEYS[1])`);

/**
 * ARGV: infoHash, cutoff, batch size. Removes up to a batch of peers last seen before the cutoff and returns
 * them as [sid, packed, …]: removal and return in one step, so each expired peer goes to exactly one sweeper.
 */
export const EXPIRE = script(`
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
if #old > 0 then
  local values = redis.call('HMGET', KEYS[1], unpack(old))
  for i, sid in ipairs(old) do
    if values[i] then
      out[#out + 1] = sid
      out[#out + 1] = values[i]
    end
  end
  drop(old)
end
forget_if_empty()
return out`);
