/**
 * Who may read /metrics, on the control server and the tracker alike. The
 * figures hold no secret, but they name programs and count their viewers,
 * which an operator need not tell the world. With a token configured, every
 * scrape must send it (Authorization: Bearer), compared in constant time;
 * without one, only a client on this host's loopback is answered, and not
 * through a proxy (a request carrying Forwarded, X-Forwarded-For or
 * X-Real-IP came through one, so its loopback address proves nothing).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** A token a scraper can send as an RFC 6750 bearer credential, long enough not to be guessed online. */
export const METRICS_TOKEN_PATTERN = /^[A-Za-z0-9._~+/=-]{16,256}$/;

export interface MetricsRequest {
  authorization: string | undefined;
  /** The socket's peer address (never a header). */
  remoteAddress: string;
  /** Whether the request names a client behind a proxy (Forwarded, X-Forwarded-For, X-Real-IP). */
  proxied: boolean;
}

export type MetricsVerdict =
  | { ok: true }
  | { ok: false; status: 401 | 403; message: string; challenge: string | null };

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** 127.0.0.0/8, ::1 and their IPv4-mapped form. */
export function isLoopbackAddress(addr: string): boolean {
  const a = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/** Both sides hashed first: equal lengths for timingSafeEqual, and the time taken says nothing of the token's length. */
export function sameToken(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

export function checkMetricsAccess(token: string | null, req: MetricsRequest): MetricsVerdict {
  if (token !== null) {
    const m = /^Bearer +(\S+) *$/i.exec(req.authorization ?? '');
    if (m?.[1] !== undefined && sameToken(m[1], token)) return { ok: true };
    return { ok: false, status: 401, message: 'metrics need the bearer token (--metrics-token)', challenge: 'Bearer realm="gatecast-metrics"' };
  }
  if (isLoopbackAddress(req.remoteAddress) && !req.proxied) return { ok: true };
  return { ok: false, status: 403, message: 'metrics are served to loopback clients only unless a --metrics-token is set', challenge: null };
}

/** The headers a proxy adds; any of them makes a loopback peer untrusted. */
export function isProxied(headers: Record<string, string | string[] | undefined>): boolean {
  return headers['forwarded'] !== undefined || headers['x-forwarded-for'] !== undefined || headers['x-real-ip'] !== undefined;
}
