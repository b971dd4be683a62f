/**
 * A Redis connection for shared tracker state (`--swarm-store redis://HOST:PORT[/DB]`):
 * the URL read and checked, the client's failure behaviour chosen on purpose,
 * and a PING at open so a tracker refuses to start on a Redis it cannot reach.
 *
 * Failure behaviour: an announce that needs Redis while Redis is gone must
 * fail at once with an error the tracker logs and answers as a failure (the
 * client re-announces later), never wait in a queue nor crash the process.
 *   - enableOfflineQueue: false. While disconnected, a command fails at once
 *     instead of waiting in an unbounded queue for a Redis that may be back in
 *     a minute: the announce holding it would hang, and memory would grow
 *     with every announce in the meantime.
 *   - maxRetriesPerRequest: 0. A command in flight when the connection drops
 *     fails instead of being resent after the reconnect: a late put could
 *     write an older lastSeen over a newer one, and the client repeats its
 *     announce or heartbeat anyway.
 *   - commandTimeout. A Redis that holds the connection but does not answer
 *     (paused, a network that drops packets without a reset) would otherwise
 *     hold each announce until TCP gives up, minutes later.
 *   - retryStrategy: reconnect forever, backing off to a cap, so the store
 *     recovers by itself when Redis is back, with no restart.
 * These timers are ioredis's own (real time), not the injected Clock: they
 * guard a socket, which only exists in real time.
 */
import { Redis } from 'ioredis';
import { DEFAULTS } from '../core/config.js';
import { InternalError } from '../core/errors.js';
import { isUnavailable, UnavailableError } from '../core/unavailable.js';

export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username: string | undefined;
  password: string | undefined;
  /** The URL without its password: what messages and logs show. */
  display: string;
}

/** Reads `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`; throws an Error saying what is wrong. */
export function parseRedisUrl(text: string): RedisTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`not a URL: ${text} (expected redis://HOST:PORT[/DB])`);
  }
  if (url.protocol !== 'redis:') throw new Error(`unsupported scheme ${url.protocol} (expected redis://HOST:PORT[/DB])`);
  if (!url.hostname) throw new Error('the Redis URL names no host (expected redis://HOST:PORT[/DB])');
  if (url.search || url.hash) throw new Error('the Redis URL takes no query or fragment (expected redis://HOST:PORT[/DB])');
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^(0|[1-9][0-9]{0,4})$/.test(path)) throw new Error(`the Redis database must be a number: /${path}`);
  const port = url.port === '' ? 6379 : Number(url.port);
  const db = path === '' ? 0 : Number(path);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const shown = new URL(url.href);
  shown.password = '';
  shown.username = '';
  return {
    host,
    port,
    db,
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
    display: `redis://${shown.host}/${db}`,
  };
}

/** Thrown when Redis cannot be reached at open: the CLI's exit 1 with this message. */
export class RedisUnreachableError extends Error {
  override readonly name = 'RedisUnreachableError';
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Connects and PINGs. Afterwards the client reconnects by itself; `onError`
 * hears the first connection error of each outage (ioredis would print
 * unheard ones to stderr).
 */
export async function connectRedis(target: RedisTarget, onError: (err: Error) => void): Promise<Redis> {
  const redis = new Redis({
    host: target.host,
    port: target.port,
    db: target.db,
    username: target.username,
    password: target.password,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: DEFAULTS.swarmRedisCommandTimeoutMs,
    connectTimeout: DEFAULTS.swarmRedisConnectTimeoutMs,
    retryStrategy: (times) => Math.min(times * 100, DEFAULTS.swarmRedisRetryMaxMs),
  });
  let opened = false;
  // The socket's own error (ECONNREFUSED, a timeout) says more than connect()'s "Connection is closed".
  let cause: Error | undefined;
  // Once per outage: the reconnect loop fails every couple of seconds until Redis is back.
  let heard = false;
  redis.on('error', (err: Error) => {
    if (!opened) cause ??= err;
    else if (!heard) {
      heard = true;
      onError(err);
    }
  });
  redis.on('ready', () => {
    heard = false;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new RedisUnreachableError(
      `cannot reach Redis at ${target.display}: ${message(cause ?? err)}; start it (e.g. redis-server --port ${target.port}) or fix --swarm-store`,
      { cause: cause ?? err },
    );
  }
  opened = true;
  return redis;
}

/**
 * A failed Redis call, logged with this text: an UnavailableError when Redis
 * could not be reached (answered `unavailable`, retried by clients), else the
 * tracker's internal error (answered as a generic failure).
 */
export function redisFailure(display: string, op: string, err: unknown): InternalError | UnavailableError {
  const text = `swarm store: Redis at ${display} failed on ${op}: ${message(err)}`;
  return isUnavailable(err) ? new UnavailableError(text, { cause: err }) : new InternalError(text, { cause: err });
}
