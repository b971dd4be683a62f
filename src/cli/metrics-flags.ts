/**
 * /metrics wiring shared by `gatecast control` and `gatecast tracker`: the
 * registry (with the process metrics) and who may read it. The token comes
 * from --metrics-token or, kept out of `ps`, GATECAST_METRICS_TOKEN.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import { METRICS_TOKEN_PATTERN } from '../core/metrics-access.js';

export const METRICS_TOKEN_HELP =
  'bearer token Prometheus must send to read /metrics (env GATECAST_METRICS_TOKEN, which keeps it out of ps); without one, /metrics answers loopback clients only';

/** A registry of this process's own: the server's metrics plus the process metrics (CPU, memory, event loop, GC). */
export function processRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * The token from the flag or the environment, or null; an error message when it is unfit: too short or
 * not a bearer token, or equal to a secret that opens more than the metrics (a scraper's config leaks more often).
 */
export function readMetricsToken(flag: string | undefined, otherSecrets: ReadonlyArray<string | undefined>): { token: string | null } | { error: string } {
  const token = flag ?? process.env['GATECAST_METRICS_TOKEN'] ?? null;
  if (token === null) return { token: null };
  if (!METRICS_TOKEN_PATTERN.test(token)) {
    return { error: 'the metrics token must be 16 to 256 characters of A-Z a-z 0-9 - . _ ~ + / = (e.g. openssl rand -hex 24)' };
  }
  if (otherSecrets.includes(token)) return { error: 'the metrics token must differ from the admin password and the tracker secret' };
  return { token };
}
