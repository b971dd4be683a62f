/**
 * Access token claims. Tokens are EdDSA JWTs signed by the control server
 * (see protocol/token.ts); the claims bind a user, a session, a program and
 * the session's client key (proof of possession).
 */
export type TokenRole = 'viewer' | 'source';

export interface AccessClaims {
  /** User name. */
  sub: string;
  /** Session id. */
  sid: string;
  /** Program id. */
  prg: string;
  role: TokenRole;
  /** Client public key, raw Ed25519 as base64url. */
  ckey: string;
  /** Issued at / expires, seconds since the epoch (JWT convention). */
  iat: number;
  exp: number;
}

export const TOKEN_ISSUER = 'gatecast-control';
export const TOKEN_AUDIENCE = 'gatecast-swarm';
