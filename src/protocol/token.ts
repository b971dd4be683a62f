/**
 * Access tokens: EdDSA JWTs (jose) signed by the control server and verified by
 * trackers and peers with the control server's public key.
 */
import { SignJWT, jwtVerify, errors as joseErrors, importJWK, type JWTPayload } from 'jose';
import type { KeyObject } from 'node:crypto';
import { ClientError } from '../core/errors.js';
import type { OutageView } from '../core/outage.js';
import { TOKEN_AUDIENCE, TOKEN_ISSUER, type AccessClaims, type TokenRole } from '../core/token.js';

export async function signAccessToken(
  privateKey: KeyObject,
  claims: { sub: string; sid: string; prg: string; role: TokenRole; ckey: string },
  nowMs: number,
  ttlS: number,
): Promise<{ token: string; expiresAt: number }> {
  const iat = Math.floor(nowMs / 1000);
  const exp = iat + ttlS;
  const token = await new SignJWT({ sid: claims.sid, prg: claims.prg, role: claims.role, ckey: claims.ckey })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(privateKey);
  return { token, expiresAt: exp * 1000 };
}

export interface TokenVerifier {
  /**
   * Verifies signature, issuer, audience and expiry at `nowMs`, and that the
   * token is for `program` when given. Throws ClientError with token_missing,
   * token_invalid, token_expired or token_wrong_program.
   */
  verify(token: string | undefined | null, opts: { program?: string; nowMs: number }): Promise<AccessClaims>;
}

function isClaims(p: JWTPayload): p is JWTPayload & AccessClaims {
  return (
    typeof p.sub === 'string' &&
    typeof p['sid'] === 'string' &&
    typeof p['prg'] === 'string' &&
    (p['role'] === 'viewer' || p['role'] === 'source') &&
    typeof p['ckey'] === 'string' &&
    typeof p.iat === 'number' &&
    typeof p.exp === 'number'
  );
}

/** Verified tokens remembered per verifier: a tracker sees the same token on every announce and heartbeat. */
const MAX_CACHED = 10_000;

function checkProgram(claims: AccessClaims, program: string | undefined): AccessClaims {
  if (program !== undefined && claims.prg !== program) {
    throw new ClientError('token_wrong_program', `access token is for another program`);
  }
  return claims;
}

/** `controlKey`: the control server's Ed25519 public key, raw 32 bytes as base64url (JWK x). */
export async function createTokenVerifier(controlKey: string): Promise<TokenVerifier> {
  const key = await importJWK({ kty: 'OKP', crv: 'Ed25519', x: controlKey }, 'EdDSA');
  // Keyed by the whole token, signature included: a hit is the very bytes already verified.
  // Expiry is still checked on every hit.
  const verified = new Map<string, AccessClaims>();
  return {
    async verify(token, { program, nowMs }) {
      if (!token) throw new ClientError('token_missing', 'an access token is required');
      const known = verified.get(token);
      if (known) {
        if (known.exp * 1000 <= nowMs) {
          verified.delete(token);
          throw new ClientError('token_expired', 'access token expired');
        }
        return checkProgram(known, program);
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, key, {
          issuer: TOKEN_ISSUER,
          audience: TOKEN_AUDIENCE,
          algorithms: ['EdDSA'],
          currentDate: new Date(nowMs),
        }));
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) throw new ClientError('token_expired', 'access token expired');
        throw new ClientError('token_invalid', 'access token is not valid');
      }
      if (!isClaims(payload)) throw new ClientError('token_invalid', 'access token lacks gatecast claims');
      const claims: AccessClaims = {
        sub: payload.sub,
        sid: payload.sid,
        prg: payload.prg,
        role: payload.role,
        ckey: payload.ckey,
        iat: payload.iat,
        exp: payload.exp,
      };
      if (verified.size >= MAX_CACHED) verified.clear();
      verified.set(token, claims);
      return checkProgram(claims, program);
    },
  };
}

/**
 * `inner`, but during a control outage a token that expired after the outage
 * began is still accepted until the outage's grace ends (core/outage.ts): its
 * signature and claims are checked as of the outage's start instead.
 */
export function outageTolerant(inner: TokenVerifier, outage: OutageView): TokenVerifier {
  return {
    async verify(token, opts) {
      try {
        return await inner.verify(token, opts);
      } catch (err) {
        const since = outage.since;
        if (!(err instanceof ClientError) || err.code !== 'token_expired' || since === null || since >= opts.nowMs) throw err;
        const claims = await inner.verify(token, { ...opts, nowMs: since });
        if (outage.honoredUntil(claims.exp * 1000) <= opts.nowMs) throw err;
        return claims;
      }
    },
  };
}
