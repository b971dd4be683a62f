/**
 * Pre-hooks around the access token (chihaya's JWT middleware, gatecast
 * style). `createTokenHook`: the token must be present, signed by the control
 * server and unexpired. `createSessionHook` (after the possession hook): the
 * session must not be revoked, and on a WebSocket channel it must be the
 * session the channel is bound to. A revoked session may still announce
 * `stopped` over HTTP: that is how it leaves.
 */
import type { Clock } from '../core/clock.js';
import { ClientError } from '../core/errors.js';
import type { ControlKey } from './control-key.js';
import type { Revocations } from './revocations.js';
import type { PreHook } from './types.js';

export function createTokenHook(deps: { key: ControlKey; clock: Clock }): PreHook {
  return async (ctx) => {
    if (!ctx.req.token) throw new ClientError('token_missing', 'access token is required');
    ctx.claims = await deps.key.verifier().verify(ctx.req.token, { nowMs: deps.clock.now() });
  };
}

export function createSessionHook(deps: { revocations: Revocations }): PreHook {
  return async (ctx) => {
    const claims = ctx.claims;
    if (!claims) throw new ClientError('token_missing', 'access token is required');
    if (ctx.channelSid !== null && ctx.channelSid !== claims.sid) {
      throw new ClientError('conflict', 'this channel is bound to another session; open a new channel');
    }
    if (deps.revocations.has(claims.sid) && ctx.req.event !== 'stopped') {
      throw new ClientError('token_revoked', 'session revoked');
    }
  };
}
