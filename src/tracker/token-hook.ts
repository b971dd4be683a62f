/**
 * Pre-hook: the access token (chihaya's JWT middleware, gatecast style). The
 * token must be present, signed by the control server, unexpired, and for a
 * session that is not revoked; on a WebSocket channel it must also be for the
 * session the channel is bound to. A revoked session may still announce
 * `stopped`: that is how it answers a disconnect (step C).
 */
import type { Clock } from '../core/clock.js';
import { ClientError } from '../core/errors.js';
import type { ControlKey } from './control-key.js';
import type { Revocations } from './revocations.js';
import type { PreHook } from './types.js';

export function createTokenHook(deps: { key: ControlKey; revocations: Revocations; clock: Clock }): PreHook {
  return async (ctx) => {
    if (!ctx.req.token) throw new ClientError('token_missing', 'access token is required');
    const claims = await deps.key.verifier().verify(ctx.req.token, { nowMs: deps.clock.now() });
    if (deps.revocations.has(claims.sid) && ctx.req.event !== 'stopped') {
      throw new ClientError('token_revoked', 'session revoked');
    }
    if (ctx.channelSid !== null && ctx.channelSid !== claims.sid) {
      throw new ClientError('conflict', 'this channel is bound to another session; open a new channel');
    }
    ctx.claims = claims;
  };
}
