/**
 * `--swarm-store`: which SwarmStore a tracker keeps its swarms in. Memory (the
 * default) for a tracker alone; Redis when several trackers serve one program
 * and must list each other's clients (store/redis-swarm-store.ts). The same
 * Redis then carries the revocation list they share
 * (store/redis-revocation-store.ts): the store hands it to createTracker as
 * its `revocations` and closes it with itself.
 */
import type { Logger } from 'pino';
import { DEFAULTS } from '../core/config.js';
import type { RevocationStore, SwarmStore } from '../core/ports.js';
import { systemClock } from '../protocol/system-clock.js';
import { MemorySwarmStore } from '../store/memory-swarm-store.js';
import { parseRedisUrl } from '../store/redis-connection.js';
import { openRedisRevocationStore } from '../store/redis-revocation-store.js';
import { openRedisSwarmStore } from '../store/redis-swarm-store.js';

export const SWARM_STORE_HELP =
  'where swarms are kept: "memory" (default, this tracker alone) or redis://[:PASSWORD@]HOST:PORT[/DB], ' +
  'shared by every tracker of a program so each lists the others\' clients';

/** Keys of every tracker sharing a Redis database start with this (docs/OPERATIONS.md lists them). */
export const SWARM_KEY_PREFIX = 'gatecast:';

/** Throws an Error saying what is wrong with the flag's value. */
export function checkSwarmStoreFlag(spec: string): void {
  if (spec !== 'memory') parseRedisUrl(spec);
}

/**
 * The store the flag names. Rejects with a RedisUnreachableError when Redis
 * does not answer now: a tracker that would fail every announce should not
 * start. Afterwards, losing Redis fails announces until it is back.
 */
export async function openSwarmStore(
  spec: string,
  opts: { heartbeatTimeoutMs: number | undefined; logger: Logger },
): Promise<SwarmStore & { readonly revocations?: RevocationStore }> {
  if (spec === 'memory') return new MemorySwarmStore();
  // Stale beyond three heartbeat timeouts too, so a longer --heartbeat-timeout never drops a live client.
  const staleMs = Math.max(DEFAULTS.swarmStaleMs, 3 * (opts.heartbeatTimeoutMs ?? 0));
  const revocations = await openRedisRevocationStore(spec, {
    prefix: SWARM_KEY_PREFIX,
    clock: systemClock,
    onConnectionError: (err) => opts.logger.error({ err }, 'revocation store: lost the connection to Redis; revocations made meanwhile are shared once it is back'),
    // Each retry fails while Redis is away (the connection's loss is logged once above; /health counts what waits).
    onError: (err) => opts.logger.debug({ err }, 'revocation store: Redis failed; retrying'),
  });
  try {
    return await openRedisSwarmStore(spec, {
      prefix: SWARM_KEY_PREFIX,
      staleMs,
      clock: systemClock,
      revocations,
      onError: (err) => opts.logger.error({ err }, 'swarm store: lost the connection to Redis; announces fail until it is back'),
    });
  } catch (err) {
    await revocations.close();
    throw err;
  }
}
