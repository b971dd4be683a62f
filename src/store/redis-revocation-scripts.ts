/**
 * The shared revocation list's write as one Lua script (redis-revocation-store.ts
 * names the keys): stored, old ones trimmed and announced at once, so a
 * tracker reading the hash after subscribing sees every revocation either in
 * the hash or on the channel.
 *
 *   KEYS[1] hash   sid → revocation (JSON)
 *   KEYS[2] zset   sid scored by keepUntil (epoch ms)
 *   ARGV    sid, JSON, keepUntil, now (the tracker's clock), channel
 *
 * Entries kept until before `now` go, a batch per call; both keys get a TTL
 * up to the latest keepUntil, so a cluster whose trackers all stopped leaves
 * nothing behind for ever. Times are the trackers' clocks, never Redis's.
 */
import { createHash } from 'node:crypto';
import type { LuaScript } from './redis-swarm-scripts.js';

function script(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Forgotten entries dropped per share: the time Redis is blocked stays small. */
export const REVOCATION_TRIM_BATCH = 256;

export const SHARE_REVOCATION = script(`
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4], 'LIMIT', 0, ${REVOCATION_TRIM_BATCH})
if #old > 0 then
  redis.call('HDEL', KEYS[1], unpack(old))
  redis.call('ZREM', KEYS[2], unpack(old))
end
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if #last == 2 then
  local ttl = math.floor(tonumber(last[2]) - tonumber(ARGV[4]))
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[1], ttl)
    redis.call('PEXPIRE', KEYS[2], ttl)
  end
end
redis.call('PUBLISH', ARGV[5], ARGV[2])
return 1`);
