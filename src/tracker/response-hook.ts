/**
 * Pre-hook, last: builds the answer (step d), a random part of the swarm that
 * never includes the requester nor a revoked session; on a channel, with the
 * program's recent revocations so a peer that joined after a kick refuses the
 * kicked session too. Like chihaya's response
 * hook it runs before the swarm write, so the counts are the swarm as found.
 */
import type { Clock } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import { InternalError } from '../core/errors.js';
import type { SwarmStore } from '../core/ports.js';
import type { Revocations } from './revocations.js';
import type { PreHook } from './types.js';

export function createResponseHook(deps: {
  store: SwarmStore;
  revocations: Revocations;
  intervalS: number;
  clock: Clock;
  revokedListMax: number;
}): PreHook {
  return async (ctx) => {
    const claims = ctx.claims;
    if (!claims) throw new InternalError('response hook ran before the token hook');
    const { infoHash, numwant, event } = ctx.req;
    const want = event === 'stopped' ? 0 : Math.min(numwant ?? DEFAULTS.numwant, DEFAULTS.maxNumwant);
    // Ask for a few more than wanted so filtering out revoked sessions rarely leaves the list short.
    const slack = Math.min(deps.revocations.size, 32);
    const sampled = want > 0 ? await deps.store.sample(infoHash, want + slack, claims.sid) : [];
    const peers = sampled.filter((p) => !deps.revocations.has(p.sid)).slice(0, want);
    const { seeders, leechers } = await deps.store.count(infoHash);
    ctx.response = {
      interval: deps.intervalS,
      minInterval: Math.max(1, Math.floor(deps.intervalS / 2)),
      complete: seeders,
      incomplete: leechers,
      peers,
      claims,
      // A stock client could not use the list: it goes on the channel only, where peers refuse what it names.
      revoked: ctx.transport === 'ws' ? deps.revocations.list(claims.prg, deps.clock.now(), deps.revokedListMax) : [],
    };
  };
}
