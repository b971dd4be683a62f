/**
 * The admission checks a peer makes on the other end of a connection: its
 * token (signature, expiry, program, revocation, not our own session, the
 * role it claims) and then its proof that it holds the token's client key.
 * Every failure is a ClientError with a stable code, so a refusal says why.
 */
import type { KeyObject } from 'node:crypto';
import { ClientError, ProtocolError } from '../core/errors.js';
import { ed25519PublicKey } from '../core/piece.js';
import type { AccessClaims, TokenRole } from '../core/token.js';
import type { LiveHandshake } from '../protocol/live-extension.js';
import { verifyPeerAuth } from '../protocol/live-extension.js';
import type { TokenVerifier } from '../protocol/token.js';

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
}

/** Verifies the token in a remote's extended handshake; resolves to its claims or rejects with a ClientError/ProtocolError. */
export async function checkRemoteHandshake(hs: LiveHandshake, check: RemoteTokenCheck): Promise<AccessClaims> {
  if (!hs.token) throw new ClientError('token_missing', 'peer presented no access token');
  if (hs.gcLiveId === null) throw new ProtocolError('peer does not speak gc_live');
  if (!hs.nonce) throw new ProtocolError('peer sent no gc_nonce');
  const claims = await check.verifier.verify(hs.token, { program: check.program, nowMs: check.nowMs });
  if (check.isRevoked(claims.sid)) throw new ClientError('token_revoked', `session ${claims.sid} was revoked`);
  if (check.localSid !== null && claims.sid === check.localSid) {
    throw new ClientError('conflict', 'peer presented our own session (connection to ourselves)');
  }
  if (hs.role !== null && hs.role !== claims.role) {
    throw new ClientError('forbidden', `peer claims role ${hs.role} but its token grants ${claims.role}`);
  }
  return claims;
}

/** Throws ClientError('proof_invalid') unless `sig` proves possession of the token's client key. */
export function checkProof(claims: AccessClaims, sig: Buffer, ourNonce: Buffer, infoHash: Buffer, remotePeerId: Buffer): void {
  let key: KeyObject;
  try {
    key = ed25519PublicKey(claims.ckey);
  } catch {
    throw new ClientError('proof_invalid', 'token names an unusable client key');
  }
  if (!verifyPeerAuth(key, sig, ourNonce, infoHash, remotePeerId)) {
    throw new ClientError('proof_invalid', 'peer could not prove it holds the key its token is bound to');
  }
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
