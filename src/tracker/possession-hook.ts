/**
 * Pre-hook after the token hook: possession of the token's client key.
 *  - On a WebSocket channel every announce carries `proof`, an Ed25519
 *    signature by the key the token names (`ckey`) over the channel's nonce,
 *    the session, the swarm, the peer id and the port
 *    (protocol/tracker-channel.ts). A harvested token without its key cannot
 *    announce, so cannot re-point or replace a session; a proof made for
 *    another channel's nonce fails.
 *  - Over HTTP (stock clients: token only) an announce for a session a
 *    gatecast channel holds is refused and changes nothing, `stopped`
 *    included.
 */
import { verify } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { ClientError } from '../core/errors.js';
import { ed25519PublicKey } from '../core/piece.js';
import { channelProofMessage } from '../protocol/tracker-channel.js';
import type { ChannelHolds } from './channel-holds.js';
import type { SessionRegistry } from './session-registry.js';
import type { PreHook } from './types.js';

export function createPossessionHook(deps: { holds: ChannelHolds; registry: SessionRegistry; clock: Clock }): PreHook {
  return async (ctx) => {
    const claims = ctx.claims;
    if (!claims) throw new ClientError('token_missing', 'access token is required');
    const now = deps.clock.now();
    if (ctx.transport === 'http') {
      if (deps.registry.get(claims.sid)?.transport === 'ws' || deps.holds.held(claims.sid, now)) {
        throw new ClientError('conflict', 'this session is held by a gatecast channel: an HTTP announce cannot change it');
      }
      return;
    }
    const proof = ctx.proof;
    if (!proof?.sig) throw new ClientError('proof_invalid', "announce carries no proof: sign the channel's nonce with the session key");
    // Verification is a pure function of these (the nonce is the channel's own): the same bytes
    // again on the same channel (a client re-announcing) need no second Ed25519 verify (~0.16 ms).
    const covered = `${claims.ckey}|${claims.sid}|${ctx.req.infoHash}|${ctx.req.peerId}|${ctx.req.port}|${proof.sig}`;
    if (proof.memo.last !== covered) {
      let ok = false;
      try {
        const msg = channelProofMessage({ nonce: proof.nonce, sid: claims.sid, infoHash: ctx.req.infoHash, peerId: ctx.req.peerId, port: ctx.req.port });
        ok = verify(null, msg, ed25519PublicKey(claims.ckey), Buffer.from(proof.sig, 'base64url'));
      } catch {
        ok = false;
      }
      if (!ok) throw new ClientError('proof_invalid', "proof does not verify with the token's client key for this channel and announce");
      proof.memo.last = covered;
    }
    ctx.proven = claims;
    deps.holds.hold(claims.sid, claims.exp * 1000);
  };
}
