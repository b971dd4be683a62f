/**
 * The control server's Prometheus metrics, on a registry of its own (several
 * servers run in one test process; process metrics are the composition
 * root's to add with collectDefaultMetrics). Counters and histograms move as
 * things happen: admissions by result, and the disconnect chain through the
 * DisconnectObserver seam. Gauges are read at scrape time from what already
 * keeps the fact (the store, the tracker registry, the orchestrator, the QoE
 * board), so no second record is kept in step by hand.
 */
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isClientError } from '../core/errors.js';
import { checkMetricsAccess, isProxied } from '../core/metrics-access.js';
import type { DisconnectOutcome, SessionRecord } from '../core/types.js';
import { ErrorBodySchema } from '../protocol/control-api.js';
import type { DisconnectObserver } from './disconnect-orchestrator.js';
import { errorBody } from './error-handler.js';

export const METRICS_PATH = '/metrics';
/** The route whose answers are counted as admissions (steps a–b). */
const ADMISSION_ROUTE = '/v1/programs/:id/request';
/** Seconds from a kick to each step: a loopback chain takes milliseconds, a lost client the heartbeat timeout. */
const STEP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** A program's QoE aggregates as the QoE board gives them (GET /v1/admin/programs/:id/stats). */
export interface ProgramQoeFigures {
  viewers: number;
  reporting: number;
  continuity_median: number | null;
  continuity_worst: number | null;
  from_peers_share: number | null;
}

/** What the gauges read at scrape time. */
export interface ControlMetricsSources {
  /** Open sessions (ControlStore.listSessions). */
  sessions: () => Promise<SessionRecord[]>;
  trackers: () => number;
  /** Disconnect commands sent over the control link and not yet acked by their tracker. */
  pendingDisconnects: () => number;
  /** Sessions a reconnected tracker did not list, waiting to re-announce (TrackerLink.awaitingRejoin). */
  awaitingRejoin: () => number;
  /** A program's QoE aggregates (QoeBoard.programStats); absent: no QoE gauges. */
  programQoe?: (program: string) => Promise<ProgramQoeFigures>;
}

/** The code an answer carries, as the error handler writes it (error-handler.ts). */
export function resultCode(err: FastifyError | Error): string {
  if (isClientError(err)) return err.code;
  const fe = err as Partial<FastifyError>;
  if (fe.validation) return 'invalid_request';
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported_media_type' : 'invalid_request';
  }
  return 'internal';
}

export class ControlMetrics implements DisconnectObserver {
  readonly registry: Registry;
  private readonly admissions: Counter<'result'>;
  private readonly kicks: Counter;
  private readonly completions: Counter<'outcome'>;
  private readonly retries: Counter;
  private readonly steps: Histogram<'step'>;
  private sources: ControlMetricsSources | null = null;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.admissions = new Counter({
      name: 'gatecast_control_admissions_total',
      help: "Program requests (steps a-b) answered, by result: ok or the error's code",
      labelNames: ['result'],
      registers,
    });
    this.kicks = new Counter({
      name: 'gatecast_control_kicks_total',
      help: 'Sessions set out to be ended (operator kicks, revoked or expired subscriptions, session limits)',
      registers,
    });
    this.completions = new Counter({
      name: 'gatecast_control_disconnects_completed_total',
      help: 'Disconnects completed, by outcome (stopped, timeout, revoked, lost, not_joined, gone)',
      labelNames: ['outcome'],
      registers,
    });
    this.retries = new Counter({ name: 'gatecast_control_disconnect_retries_total', help: 'Disconnect commands sent again (step A timer or tracker hello)', registers });
    this.steps = new Histogram({
      name: 'gatecast_control_disconnect_step_seconds',
      help: "Time from a disconnect's start to each step of its chain (command_sent, tracker_ack, client_stopped, client_timeout, client_lost, client_gone, control_ack)",
      labelNames: ['step'],
      buckets: STEP_BUCKETS,
      registers,
    });
    this.defineGauges(registers);
  }

  /** What the gauges read; until bound they report nothing. */
  bind(sources: ControlMetricsSources): void {
    this.sources = sources;
  }

  admission(result: string): void {
    this.admissions.inc({ result });
  }

  started(): void {
    this.kicks.inc();
  }

  step(event: string, ms: number): void {
    this.steps.observe({ step: event }, Math.max(0, ms) / 1000);
  }

  retried(): void {
    this.retries.inc();
  }

  completed(outcome: DisconnectOutcome): void {
    this.completions.inc({ outcome });
  }

  private defineGauges(registers: Registry[]): void {
    const simple = (name: string, help: string, read: (s: ControlMetricsSources) => number): void => {
      const gauge: Gauge = new Gauge({
        name,
        help,
        registers,
        collect: () => {
          if (this.sources) gauge.set(read(this.sources));
        },
      });
    };
    simple('gatecast_control_trackers_connected', 'Trackers connected over the control link', (s) => s.trackers());
    simple('gatecast_control_link_pending_disconnects', 'Control-link backlog: disconnect commands not yet acked by their tracker', (s) => s.pendingDisconnects());
    simple('gatecast_control_sessions_awaiting_rejoin', 'Sessions a reconnected tracker did not list, in their rejoin grace', (s) => s.awaitingRejoin());

    const qoe = {
      viewers: new Gauge({ name: 'gatecast_program_qoe_viewers_reporting', help: 'Viewers of the program whose latest QoE report is fresh', labelNames: ['program'], registers }),
      continuityMedian: new Gauge({ name: 'gatecast_program_qoe_continuity_median', help: "Median continuity (0-1) of the program's reporting viewers", labelNames: ['program'], registers }),
      continuityWorst: new Gauge({ name: 'gatecast_program_qoe_continuity_worst', help: "Worst continuity (0-1) of the program's reporting viewers", labelNames: ['program'], registers }),
      fromPeers: new Gauge({ name: 'gatecast_program_qoe_from_peers_share', help: "Share (0-1) of the reporting viewers' bytes that came from peers", labelNames: ['program'], registers }),
    };
    const sessions: Gauge<'program' | 'role' | 'state'> = new Gauge({
      name: 'gatecast_control_sessions',
      help: 'Open sessions (admitted or joined), by program, role and state',
      labelNames: ['program', 'role', 'state'],
      registers,
      collect: async () => {
        sessions.reset();
        Object.values(qoe).forEach((g) => g.reset());
        if (!this.sources) return;
        const open = await this.sources.sessions();
        const counts = new Map<string, { program: string; role: string; state: string; n: number }>();
        for (const s of open) {
          const key = JSON.stringify([s.program, s.role, s.state]);
          const c = counts.get(key) ?? { program: s.program, role: s.role, state: s.state, n: 0 };
          c.n += 1;
          counts.set(key, c);
        }
        for (const c of counts.values()) sessions.set({ program: c.program, role: c.role, state: c.state }, c.n);
        // The QoE gauges are filled here too, for the programs that have open sessions: one listing per scrape.
        const programQoe = this.sources.programQoe;
        if (!programQoe) return;
        for (const program of new Set(open.map((s) => s.program))) {
          const q = await programQoe(program);
          qoe.viewers.set({ program }, q.reporting);
          if (q.continuity_median !== null) qoe.continuityMedian.set({ program }, q.continuity_median);
          if (q.continuity_worst !== null) qoe.continuityWorst.set({ program }, q.continuity_worst);
          if (q.from_peers_share !== null) qoe.fromPeers.set({ program }, q.from_peers_share);
        }
      },
    });
  }
}

/** Counts each answer of the admission route: 'ok', or the code of the error it answered with. Before the routes. */
export function countAdmissions(app: FastifyInstance, metrics: ControlMetrics): void {
  const isAdmission = (request: FastifyRequest): boolean => request.routeOptions.url === ADMISSION_ROUTE;
  app.addHook('onError', async (request, _reply, err) => {
    if (isAdmission(request)) metrics.admission(resultCode(err));
  });
  app.addHook('onResponse', async (request, reply) => {
    if (isAdmission(request) && reply.statusCode < 400) metrics.admission('ok');
  });
}

/** GET /metrics: the registry in Prometheus text, to whoever checkMetricsAccess lets in (token null: loopback only). */
export function metricsRoute(metrics: ControlMetrics, token: string | null) {
  return async (app: FastifyInstance): Promise<void> => {
    const schema = {
      tags: ['service'],
      summary: 'Prometheus metrics (text format 0.0.4): a bearer --metrics-token, or loopback clients only when none is set',
      response: {
        200: {
          description: 'the metrics in Prometheus text exposition format 0.0.4',
          content: { 'text/plain; version=0.0.4; charset=utf-8': { schema: { type: 'string' } } },
        },
        401: { ...ErrorBodySchema, description: 'a --metrics-token is set and the request does not bear it' },
        403: { ...ErrorBodySchema, description: 'no token is set and the client is not on loopback, or came through a proxy' },
      },
    };
    app.get(METRICS_PATH, { schema }, async (request, reply) => {
      const verdict = checkMetricsAccess(token, {
        authorization: request.headers.authorization,
        remoteAddress: request.socket.remoteAddress ?? '',
        proxied: isProxied(request.headers),
      });
      void reply.header('cache-control', 'no-store');
      if (!verdict.ok) {
        if (verdict.challenge) void reply.header('www-authenticate', verdict.challenge);
        return reply.status(verdict.status).send(errorBody(verdict.status === 401 ? 'unauthorized' : 'forbidden', verdict.message));
      }
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    });
  };
}
