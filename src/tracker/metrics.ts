/**
 * The tracker's Prometheus metrics, on a registry of its own (process metrics
 * are the composition root's to add with collectDefaultMetrics). Announces
 * are counted by transport and result as the logic answers them, whichever
 * front end asked; the gauges read the tracker's own state at scrape time.
 * /metrics is answered by the HTTP front end to whoever checkMetricsAccess
 * lets in.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { isClientError } from '../core/errors.js';
import { checkMetricsAccess, isProxied } from '../core/metrics-access.js';
import { TrackerLogic } from './tracker-logic.js';
import type { AnnounceContext, AnnounceOutcome, Transport } from './types.js';

export const METRICS_PATH = '/metrics';

/** What the gauges read at scrape time. */
export interface TrackerMetricsSources {
  sessions: () => number;
  swarms: () => number;
  /** Joins and leaves not yet acked by the control server (ControlLinkClient.pending). */
  linkBacklog: () => number;
  linkUp: () => boolean;
  channels: () => number;
  /** Disconnects still being resent to their clients (step B). */
  pendingDisconnects: () => number;
  /** `revoked` pushes not yet acked by their peers. */
  pendingPushes: () => number;
}

export class TrackerMetrics {
  readonly registry: Registry;
  private readonly announces: Counter<'transport' | 'result'>;
  private sources: TrackerMetricsSources | null = null;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.announces = new Counter({
      name: 'gatecast_tracker_announces_total',
      help: "Announces answered, by transport (http, ws) and result: ok or the refusal's code",
      labelNames: ['transport', 'result'],
      registers,
    });
    const gauge = (name: string, help: string, read: (s: TrackerMetricsSources) => number): void => {
      const g: Gauge = new Gauge({
        name,
        help,
        registers,
        collect: () => {
          if (this.sources) g.set(read(this.sources));
        },
      });
    };
    gauge('gatecast_tracker_sessions', 'Sessions held (revoked ones included until they leave)', (s) => s.sessions());
    gauge('gatecast_tracker_swarms', 'Swarms (info hashes) with at least one session', (s) => s.swarms());
    gauge('gatecast_tracker_channels_open', 'WebSocket channels open', (s) => s.channels());
    gauge('gatecast_tracker_link_backlog', 'Control-link backlog: joins and leaves not yet acked by the control server', (s) => s.linkBacklog());
    gauge('gatecast_tracker_control_link_up', '1 while the control link is connected', (s) => (s.linkUp() ? 1 : 0));
    gauge('gatecast_tracker_pending_disconnects', 'Disconnects still being resent to their clients', (s) => s.pendingDisconnects());
    gauge('gatecast_tracker_pending_revocation_pushes', 'Revocation pushes not yet acked by their peers', (s) => s.pendingPushes());
  }

  /** What the gauges read; until bound they report nothing. */
  bind(sources: TrackerMetricsSources): void {
    this.sources = sources;
  }

  announce(transport: Transport, result: string): void {
    this.announces.inc({ transport, result });
  }

  /** Serves GET /metrics (the HTTP front end routes it here); token null: loopback clients only. */
  async serve(req: IncomingMessage, res: ServerResponse, token: string | null): Promise<void> {
    const verdict = checkMetricsAccess(token, { authorization: req.headers.authorization, remoteAddress: req.socket.remoteAddress ?? '', proxied: isProxied(req.headers) });
    if (!verdict.ok) {
      const body = `${verdict.message}\n`;
      const headers: Record<string, string | number> = { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' };
      if (verdict.challenge) headers['www-authenticate'] = verdict.challenge;
      res.writeHead(verdict.status, headers);
      res.end(body);
      return;
    }
    const text = await this.registry.metrics();
    res.writeHead(200, { 'content-type': this.registry.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
  }
}

/** The tracker's logic with every announce counted as it is answered, for both front ends alike. */
export class CountedTrackerLogic extends TrackerLogic {
  constructor(
    deps: ConstructorParameters<typeof TrackerLogic>[0],
    private readonly metrics: TrackerMetrics,
  ) {
    super(deps);
  }

  override async announce(ctx: AnnounceContext): Promise<AnnounceOutcome> {
    try {
      const out = await super.announce(ctx);
      this.metrics.announce(ctx.transport, 'ok');
      return out;
    } catch (err) {
      this.metrics.announce(ctx.transport, isClientError(err) ? err.code : 'internal');
      throw err;
    }
  }
}
