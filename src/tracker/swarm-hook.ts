/** Post-hook: the swarm write. `stopped` leaves at once; anything else joins or refreshes. */
import type { Clock } from '../core/clock.js';
import type { Membership } from './membership.js';
import type { PostHook } from './types.js';

export function createSwarmHook(deps: {
  membership: Membership;
  clock: Clock;
  /** How long a session may stay silent, by transport. */
  timeoutMs: (transport: 'http' | 'ws') => number;
}): PostHook {
  return async (ctx) => {
    const { claims, req } = ctx;
    if (req.event === 'stopped') {
      await deps.membership.leave(claims.sid, 'stopped');
      return;
    }
    await deps.membership.upsert({
      sid: claims.sid,
      user: claims.sub,
      program: claims.prg,
      role: claims.role,
      infoHash: req.infoHash,
      peerId: req.peerId,
      ip: ctx.ip,
      port: req.port,
      transport: ctx.transport,
      timeoutMs: deps.timeoutMs(ctx.transport),
      lastSeen: deps.clock.now(),
      tokenExpiresAt: claims.exp * 1000,
      tokenLifetimeMs: (claims.exp - claims.iat) * 1000,
      clientKey: claims.ckey,
      channel: ctx.channel,
    });
  };
}
