/**
 * A backing service that cannot be reached right now (PostgreSQL, Redis): not
 * a refusal and not a bug, so a server answers it as `unavailable` (HTTP 503
 * with Retry-After, or the tracker channel's error code `unavailable`) with a
 * message saying what to do, and a client retries rather than ending its
 * session. `unavailable` is deliberately not a ClientErrorCode: a client that
 * reads it treats it as the server's transient fault, as it treats `internal`.
 */
export const UNAVAILABLE = 'unavailable';

/** A store operation failed because its engine could not be reached (internal: its message is logged, not shown). */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Socket-level errno codes of a lost or refused connection. */
const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTCONN', 'ECONNABORTED']);

/**
 * Messages of the drivers' own connection failures (pg's pool and client,
 * ioredis with its offline queue off), which carry no errno code.
 */
const NET_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Connection is closed|Stream isn't writeable|Command timed out|Client has encountered a connection error/i;

/**
 * Whether `err` (or an error it wraps, through `cause`) means the engine could
 * not be reached: an UnavailableError, a socket errno, a PostgreSQL
 * connection-exception or shutdown SQLSTATE (08xxx, 57P01–57P03), or a
 * driver's connection message.
 */
export function isUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof UnavailableError) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (NET_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code) || /^57P0[1-3]$/.test(code))) return true;
    if (NET_MESSAGES.test(e.message)) return true;
  }
  return false;
}
