/**
 * Typed errors. A ClientError may reach a user or a peer as-is (its code and
 * message are part of the API); anything else is internal and is logged, never
 * shown beyond a generic message.
 */
export type ClientErrorCode =
  | 'invalid_credentials'
  | 'not_subscribed'
  | 'unknown_program'
  | 'unknown_user'
  | 'unknown_session'
  | 'session_ended'
  | 'invalid_request'
  | 'unauthorized'
  | 'forbidden'
  | 'conflict'
  | 'not_found'
  | 'no_tracker'
  | 'token_missing'
  | 'token_invalid'
  | 'token_expired'
  | 'token_wrong_program'
  | 'token_revoked'
  | 'proof_invalid'
  | 'rate_limited'
  | 'login_required'
  | 'too_many_sessions'
  | 'source_key_on_server'
  | 'unsupported_media_type';

const STATUS: Record<ClientErrorCode, number> = {
  invalid_credentials: 401,
  not_subscribed: 403,
  unknown_program: 404,
  unknown_user: 404,
  unknown_session: 404,
  session_ended: 403,
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  conflict: 409,
  not_found: 404,
  no_tracker: 503,
  token_missing: 401,
  token_invalid: 401,
  token_expired: 401,
  token_wrong_program: 403,
  token_revoked: 403,
  proof_invalid: 401,
  rate_limited: 429,
  login_required: 401,
  too_many_sessions: 409,
  source_key_on_server: 409,
  unsupported_media_type: 415,
};

/** True for a code this version knows (e.g. one read off the wire). */
export function isClientErrorCode(code: string): code is ClientErrorCode {
  return Object.hasOwn(STATUS, code);
}

export class ClientError extends Error {
  override readonly name = 'ClientError';
  readonly status: number;
  constructor(
    readonly code: ClientErrorCode,
    message: string,
  ) {
    super(message);
    this.status = STATUS[code];
  }
  toJSON(): { error: { code: ClientErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** Too many failed logins: the client may retry after `retryAfterS` seconds (the Retry-After header). */
export class RateLimitedError extends ClientError {
  constructor(
    readonly retryAfterS: number,
    message = `too many failed logins; try again in ${retryAfterS} s`,
  ) {
    super('rate_limited', message);
  }
}

/** A bug or an environment failure: never shown verbatim to a client. */
export class InternalError extends Error {
  override readonly name = 'InternalError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Bytes from a peer or a tracker that break the protocol. The connection that sent them is closed. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

export function isClientError(err: unknown): err is ClientError {
  return err instanceof ClientError;
}
