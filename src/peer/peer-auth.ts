/**
 * The admission checks a peer makes on the other end of a connection: its
 * token (signature, expiry, program, revocation, not our own session, the
 * role it claims, and that the channel's remote static key is the token's
 * client key) and then its proof, a signature by that key over this channel's
 * transcript. Every failure is a ClientError with a stable code, so a refusal
 * says why.
 */
import type { KeyObject } from 'node:crypto';
import { ClientError, ProtocolError } from '../core/errors.js';
import { ed25519PublicKey } from '../core/piece.js';
import type { AccessClaims, TokenRole } from '../core/token.js';
import type { LiveHandshake, PeerAuthContext } from '../protocol/live-extension.js';
import { verifyPeerAuth } from '../protocol/live-extension.js';
import type { TokenVerifier } from '../protocol/token.js';
import type { ChannelBinding } from './secure-channel.js';

/** Who is on the other end once authenticated. */
export interface RemoteIdentity {
  sid: string;
  user: string;
  role: TokenRole;
  peerId: Buffer;
  /** When the remote's token expires (epoch ms). */
  expiresAtMs: number;
}

export interface RemoteTokenCheck {
  verifier: TokenVerifier;
  program: string;
  nowMs: number;
  isRevoked: (sid: string) => boolean;
  /** Our own session id, to refuse a connection to ourselves; null when unknown. */
  localSid: string | null;
  /** The Ed25519 key the channel's Noise handshake proved on the other end (raw 32 bytes). */
  remoteStaticKey: Buffer;
}

/** Verifies the token in a remote's extended handshake; resolves to its claims or rejects with a ClientError/ProtocolError. */
export async function checkRemoteHandshake(hs: LiveHandshake, check: RemoteTokenCheck): Promise<AccessClaims> {
  if (!hs.token) throw new ClientError('token_missing', 'peer presented no access token');
  if (hs.gcLiveId === null) throw new ProtocolError('peer does not speak gc_live');
  const claims = await check.verifier.verify(hs.token, { program: check.program, nowMs: check.nowMs });
  checkChannelKey(claims, check.remoteStaticKey);
  if (check.isRevoked(claims.sid)) throw new ClientError('token_revoked', `session ${claims.sid} was revoked`);
  if (check.localSid !== null && claims.sid === check.localSid) {
    throw new ClientError('conflict', 'peer presented our own session (connection to ourselves)');
  }
  if (hs.role !== null && hs.role !== claims.role) {
    throw new ClientError('forbidden', `peer claims role ${hs.role} but its token grants ${claims.role}`);
  }
  return claims;
}

export type RenewalCheck = Omit<RemoteTokenCheck, 'localSid' | 'remoteStaticKey'>;

/**
 * A renewed token sent over an authenticated connection: valid now, and for
 * the same session, role and client key (the channel already proved that key,
 * so no new signature is needed).
 */
export async function checkRenewedToken(token: string, current: AccessClaims, check: RenewalCheck): Promise<AccessClaims> {
  const claims = await check.verifier.verify(token, { program: check.program, nowMs: check.nowMs });
  if (claims.sid !== current.sid) throw new ClientError('forbidden', 'renewed token names another session');
  if (claims.ckey !== current.ckey) throw new ClientError('proof_invalid', 'renewed token is bound to another key');
  if (claims.role !== current.role) throw new ClientError('forbidden', 'renewed token grants another role');
  if (check.isRevoked(claims.sid)) throw new ClientError('token_revoked', `session ${claims.sid} was revoked`);
  return claims;
}

/**
 * Throws ClientError('proof_invalid') unless the channel's remote static key is
 * the key the token is bound to: a token shown by anyone but its holder (a
 * harvested or relayed token) fails here, before any proof is read.
 */
export function checkChannelKey(claims: AccessClaims, remoteStaticKey: Buffer): void {
  const ckey = Buffer.from(claims.ckey, 'base64url');
  if (ckey.length !== 32 || !ckey.equals(remoteStaticKey)) {
    throw new ClientError('proof_invalid', 'the peer on this channel does not hold the key its token is bound to');
  }
}

/** Throws ClientError('proof_invalid') unless `sig` is the token's client key signing this channel's transcript. */
export function checkProof(claims: AccessClaims, sig: Buffer, context: PeerAuthContext): void {
  let key: KeyObject;
  try {
    key = ed25519PublicKey(claims.ckey);
  } catch {
    throw new ClientError('proof_invalid', 'token names an unusable client key');
  }
  if (!verifyPeerAuth(key, sig, context)) {
    throw new ClientError('proof_invalid', 'peer could not prove it holds the key its token is bound to, on this channel');
  }
}

export interface ProofParties {
  binding: ChannelBinding;
  infoHash: Buffer;
  localPeerId: Buffer;
  remotePeerId: Buffer;
  localSid: string;
  remoteSid: string;
}

/**
 * The transcript of the proof one side sends on this channel. The dialer
 * (initiator) proves first, before it has seen the acceptor's token, so its
 * transcript leaves the acceptor's session id out; the acceptor's covers both.
 */
export function proofContext(p: ProofParties, signer: 'local' | 'remote'): PeerAuthContext {
  const weInitiate = p.binding.initiator;
  const signerIsInitiator = (signer === 'local') === weInitiate;
  return {
    handshakeHash: p.binding.handshakeHash,
    infoHash: p.infoHash,
    signer: signerIsInitiator ? 'initiator' : 'responder',
    initiatorPeerId: weInitiate ? p.localPeerId : p.remotePeerId,
    responderPeerId: weInitiate ? p.remotePeerId : p.localPeerId,
    initiatorSid: weInitiate ? p.localSid : p.remoteSid,
    responderSid: signerIsInitiator ? null : weInitiate ? p.remoteSid : p.localSid,
  };
}

/**
 * The session id inside our own token, read without verifying it: it is ours,
 * and is only used to spot a connection to ourselves.
 */
export function unverifiedSid(token: string): string | null {
  const body = token.split('.')[1];
  if (!body) return null;
  try {
    const payload: unknown = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    if (typeof payload === 'object' && payload !== null && 'sid' in payload && typeof payload.sid === 'string') {
      return payload.sid;
    }
  } catch {
    // not a JWT: no sid to compare against
  }
  return null;
}

export function describeRefusal(err: unknown): string {
  if (err instanceof ClientError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
