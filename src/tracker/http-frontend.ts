/**
 * The BEP 3 HTTP front end: parses, calls the logic, writes. Announce and
 * scrape answers are bencoded with HTTP 200 even on failure (stock clients
 * only read a `failure reason` from a 200); `GET /` describes the tracker in
 * JSON, `GET /health` says ok or degraded (tracker/health.ts), 200 either
 * way; `GET /metrics` is Prometheus text (tracker/metrics.ts). Nothing a client sends can throw past this handler.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { isClientError } from '../core/errors.js';
import { isUnavailable } from '../core/unavailable.js';
import {
  encodeAnnounceSuccess,
  encodeFailure,
  encodeScrape,
  parseAnnounceQuery,
  parseScrapeQuery,
  type AnnounceRequest,
} from '../protocol/announce.js';
import type { TrackerHealth } from './health.js';
import type { TrackerMetrics } from './metrics.js';
import type { TrackerLogic } from './tracker-logic.js';

/** The socket's address, with IPv4-mapped IPv6 (::ffff:a.b.c.d) unwrapped. */

/** What a client is told when the swarm store (Redis) cannot be reached: a transient fault, to retry. */
export const STORE_UNAVAILABLE = 'the tracker cannot reach its swarm store right now; try again shortly';
export function remoteIp(req: IncomingMessage): string {
  const raw = req.socket.remoteAddress ?? '';
  return raw.startsWith('::ffff:') && raw.includes('.') ? raw.slice(7) : raw;
}

function send(res: ServerResponse, status: number, type: string, body: string | Uint8Array): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

export function createHttpHandler(deps: {
  logic: TrackerLogic;
  describe: () => Record<string, unknown>;
  health: () => TrackerHealth;
  logger: Logger;
  metrics: TrackerMetrics;
  /** The bearer token /metrics demands; null: loopback clients only. */
  metricsToken: string | null;
}): (req: IncomingMessage, res: ServerResponse) => void {
  const { logic, logger } = deps;

  const lastResort =
    (res: ServerResponse) =>
    (err: unknown): void => {
      logger.error({ err }, 'http handler failed');
      send(res, 500, 'text/plain', 'internal tracker error\n');
    };

  const fail = (res: ServerResponse, err: unknown): void => {
    if (isClientError(err)) {
      send(res, 200, 'text/plain', encodeFailure(err.message));
      return;
    }
    if (isUnavailable(err)) {
      logger.error({ err }, 'announce failed: swarm store unreachable');
      send(res, 200, 'text/plain', encodeFailure(STORE_UNAVAILABLE));
      return;
    }
    logger.error({ err }, 'announce failed');
    send(res, 200, 'text/plain', encodeFailure('internal tracker error'));
  };

  // The hot path: parsing and encoding run synchronously around the logic's one promise (no async wrappers per request).
  const announce = (req: IncomingMessage, res: ServerResponse, rawQuery: string): void => {
    let parsed: AnnounceRequest;
    try {
      parsed = parseAnnounceQuery(rawQuery);
    } catch (err) {
      deps.metrics.announce('http', isClientError(err) ? err.code : 'internal');
      fail(res, err);
      return;
    }
    logic.announce({ req: parsed, ip: remoteIp(req), transport: 'http', channel: null, channelSid: null }).then(
      (out) => {
        let body: Uint8Array;
        try {
          body = encodeAnnounceSuccess({
            interval: out.interval,
            minInterval: out.minInterval,
            complete: out.complete,
            incomplete: out.incomplete,
            peers: out.peers,
            compact: parsed.compact,
            noPeerId: parsed.noPeerId,
          });
        } catch (err) {
          fail(res, err);
          return;
        }
        send(res, 200, 'text/plain', body);
      },
      (err: unknown) => fail(res, err),
    ).catch(lastResort(res));
  };

  const scrape = (res: ServerResponse, rawQuery: string): void => {
    Promise.resolve()
      .then(() => logic.scrape(parseScrapeQuery(rawQuery)))
      .then(
        (files) => send(res, 200, 'text/plain', encodeScrape(files)),
        (err: unknown) => fail(res, err),
      )
      .catch(lastResort(res));
  };

  return (req, res) => {
    try {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      const rawQuery = q < 0 ? '' : url.slice(q + 1);
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(res, 405, 'text/plain', `method ${req.method ?? '?'} not allowed: the tracker answers GET\n`);
        return;
      }
      switch (path) {
        case '/announce':
          announce(req, res, rawQuery);
          return;
        case '/scrape':
          scrape(res, rawQuery);
          return;
        case '/':
          send(res, 200, 'application/json', JSON.stringify(deps.describe()));
          return;
        case '/health':
          send(res, 200, 'application/json', JSON.stringify(deps.health()));
          return;
        case '/metrics':
          deps.metrics.serve(req, res, deps.metricsToken).catch(lastResort(res));
          return;
        default:
          send(res, 404, 'text/plain', 'not found: this tracker answers /announce, /scrape, /health, /metrics and /ws\n');
      }
    } catch (err) {
      lastResort(res)(err);
    }
  };
}
