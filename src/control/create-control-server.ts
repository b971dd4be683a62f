/**
 * Builds the control server: store → signing key → admin user → admission →
 * HTTP routes and the tracker link, in that order. The caller owns the store
 * (and closes it); close() stops the HTTP server and the tracker link.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Clock } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import type { MessageFaults } from '../core/faults.js';
import type { ControlStore, DisconnectNotices, WebServerFactory } from '../core/ports.js';
import { Admission, RENEW_SKEW_MS } from './admission.js';
import { DisconnectOrchestrator } from './disconnect-orchestrator.js';
import { installErrorHandling } from './error-handler.js';
import { answerFrameworkError, MAX_PARAM_LENGTH } from './framework-errors.js';
import { consoleAuthHook, consoleRoutes } from './console-routes.js';
import { consoleEvents } from './console-events.js';
import { ConsoleSessions } from './console-sessions.js';
import { registerOpenApi } from './openapi.js';
import { ControlHealthCheck, DatabaseWatch, type CorruptionTest } from './health.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { deviceAdminRoutes } from './device-routes.js';
import type { LoginLimits } from './login-throttle.js';
import { ControlMetrics, countAdmissions, metricsRoute } from './metrics.js';
import { adminRoutes } from './routes-admin.js';
import { publicRoutes } from './routes-public.js';
import { QoeBoard } from './qoe-board.js';
import { loadOrCreateSigningKey } from './signing-key.js';
import { SessionLimit, type OnLimit } from './session-limit.js';
import { TrackerLink } from './tracker-link.js';
import { trackerCredentialRoutes } from './tracker-credential-routes.js';
import { TrackerDirectory } from './tracker-directory.js';
import { TrackerRegistry, type TrackerInfo } from './tracker-registry.js';

export const ADMIN_USER = 'admin';
const BODY_LIMIT = 64 * 1024;

export interface ControlServerOptions {
  store: ControlStore;
  clock: Clock;
  adminPassword: string;
  /**
   * Shared secret trackers present on the control link (Authorization: Bearer), good for any tracker id: the simple
   * mode. null: off, trackers present their own credentials only (`ID.SECRET`, tracker-credentials.ts), which work
   * either way.
   */
  trackerSecret: string | null;
  /** Period of the control link's re-check of linked trackers' credentials (default 2 s); null: never. */
  credentialCheckMs?: number | null;
  tokenTtlS?: number;
  /** fastify's logger option: false (default), true, or pino options. */
  logger?: FastifyServerOptions['logger'];
  /** Control link ping period in ms (default 15 s); null turns the keepalive off. */
  linkKeepaliveMs?: number | null;
  /** Resend period of a disconnect command the tracker has not acked (default 1 s). */
  disconnectRetryMs?: number;
  /** How often open sessions are checked against their subscriptions (default 5 s); null: never. */
  expiryCheckMs?: number | null;
  /** Loses control-link messages on purpose (tests of the at-least-once chain). */
  faults?: MessageFaults;
  /** Login throttling (per user, per address, window); DEFAULTS.login* when absent. */
  loginLimits?: LoginLimits;
  /** When a user is over their concurrent-session limit: end the oldest (default) or refuse the new one. */
  onLimit?: OnLimit;
  /** Session limit of users and subscriptions that set none (default DEFAULTS.maxSessionsPerUser: none). */
  maxSessions?: number | null;
  /** Makes the HTTP server (cli/web-server.ts): its scheme (HTTPS and WSS only with TLS) and its deadlines. */
  webServer: WebServerFactory;
  /** Tells a store error that means a damaged database (store/sqlite-errors.ts isCorruption): health turns degraded. */
  isDatabaseCorrupt?: CorruptionTest;
  /** A round trip to a database server, made by every health report (cli/control-store.ts: PostgreSQL's SELECT 1). */
  databaseProbe?: () => Promise<void>;
  /** /metrics' registry and counters (a fresh registry when absent; process metrics are the caller's to add). */
  metrics?: ControlMetrics;
  /** Bearer token /metrics demands; null (default): loopback clients only (core/metrics-access.ts). */
  metricsToken?: string | null;
  /**
   * Several control servers on one (PostgreSQL) database: this one's instance id, how it hears of disconnects
   * recorded by the others, and (tests) the lease and directory timings over DEFAULTS.cluster*. Absent: the only
   * control server, which drives every pending disconnect (SQLite).
   */
  cluster?: ControlClusterOptions;
}

export interface ControlClusterOptions {
  instanceId: string;
  notices: DisconnectNotices;
  leaseMs?: number;
  leaseRenewMs?: number;
  directoryRefreshMs?: number;
  directoryStaleMs?: number;
}

export interface ControlServer {
  app: FastifyInstance;
  /** Starts listening; resolves with the base URL, e.g. http://127.0.0.1:8700 (https:// with TLS). */
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
  /** The control server's token-verifying public key (raw Ed25519, base64url). */
  controlKey: string;
  trackers(): TrackerInfo[];
  /** The trackers of the whole cluster (those linked here and, with `cluster`, those linked to the other instances). */
  registry: TrackerRegistry;
  /** This control server's instance id (with `cluster`), else null. */
  instanceId: string | null;
  /** Join/leave/ack reports from trackers, for whoever orchestrates disconnects. */
  link: TrackerLink;
  /** Ends sessions through the tracker (steps A–E); kicks, revocations and expiries go through it. */
  orchestrator: DisconnectOrchestrator;
  /** Clients' latest QoE per session and per program (programStats), for the console and /metrics. */
  qoe: QoeBoard;
  /** What /metrics serves. */
  metrics: ControlMetrics;
}

async function ensureAdmin(store: ControlStore, password: string, now: number): Promise<void> {
  const existing = await store.getUser(ADMIN_USER);
  if (!existing) {
    await store.createUser({ name: ADMIN_USER, passwordHash: await hashPassword(password), isAdmin: true, createdAt: now });
    return;
  }
  if (!existing.isAdmin) throw new Error(`user ${ADMIN_USER} exists but is not an admin; fix the database`);
  if (!(await verifyPassword(password, existing.passwordHash))) {
    await store.setUserPassword(ADMIN_USER, await hashPassword(password));
  }
}

export async function createControlServer(opts: ControlServerOptions): Promise<ControlServer> {
  const { clock } = opts;
  const database = new DatabaseWatch(opts.isDatabaseCorrupt ?? (() => false), clock);
  const store = database.watch(opts.store);
  if (opts.adminPassword.length === 0) throw new Error('the admin password must not be empty');
  if (opts.trackerSecret?.length === 0) throw new Error('the tracker secret must not be empty');
  // A tracker holds its secret on another machine: it must not be a key to the admin API too.
  if (opts.trackerSecret === opts.adminPassword) throw new Error('the tracker secret must differ from the admin password');
  await store.migrate();
  const signingKey = await loadOrCreateSigningKey(store);
  await ensureAdmin(store, opts.adminPassword, clock.now());

  const trackers = new TrackerRegistry();
  // No token of a session admitted longer ago than this can still be valid: one that never joined is dead.
  const staleAdmittedMs = (opts.tokenTtlS ?? DEFAULTS.tokenTtlS) * 1000 + RENEW_SKEW_MS;
  // The orchestrator is built below; the limit only kicks on admissions, long after.
  const sessionLimit = new SessionLimit({
    store,
    kick: (sid, reason) => orchestrator.kick(sid, reason),
    onLimit: opts.onLimit,
    defaultMax: opts.maxSessions,
    staleAdmittedMs,
    now: () => clock.now(),
  });
  const admission = new Admission({
    store,
    clock,
    signingKey,
    trackers,
    tokenTtlS: opts.tokenTtlS ?? DEFAULTS.tokenTtlS,
    loginLimits: opts.loginLimits,
    sessionLimit,
  });

  const app = Fastify({
    serverFactory: (handler) => opts.webServer.create(handler),
    logger: opts.logger ?? false,
    bodyLimit: BODY_LIMIT,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // A broken percent-encoding or an over-long path parameter, in the API's error shape too.
    frameworkErrors: answerFrameworkError,
    // Wrong types are refused, not coerced: "123" is not a number.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: true, useDefaults: true } },
  });
  installErrorHandling(app, BODY_LIMIT);
  const metrics = opts.metrics ?? new ControlMetrics();
  countAdmissions(app, metrics);
  // Every body is JSON: fastify's built-in text/plain parser would hand a string to the routes (a 400
  // from the schema); without it a text/plain body is refused like any other type (415).
  app.removeContentTypeParser('text/plain');
  // Before the routes: the OpenAPI document is generated from each route's schema as it is added.
  await registerOpenApi(app);

  const link = new TrackerLink({
    store,
    clock,
    trackers,
    controlKey: signingKey.publicKey,
    trackerSecret: opts.trackerSecret,
    log: app.log,
    keepaliveMs: opts.linkKeepaliveMs,
    credentialCheckMs: opts.credentialCheckMs,
    tokenTtlMs: (opts.tokenTtlS ?? DEFAULTS.tokenTtlS) * 1000,
    faults: opts.faults,
  });
  const orchestrator = new DisconnectOrchestrator({
    store,
    clock,
    link,
    log: app.log,
    retryMs: opts.disconnectRetryMs,
    expiryCheckMs: opts.expiryCheckMs,
    staleAdmittedMs,
    observer: metrics,
    cluster: opts.cluster && {
      instanceId: opts.cluster.instanceId,
      notices: opts.cluster.notices,
      trackerIds: () => trackers.heldHere(),
      leaseMs: opts.cluster.leaseMs,
      renewMs: opts.cluster.leaseRenewMs,
    },
  });
  const directory = opts.cluster
    ? new TrackerDirectory({
        store,
        clock,
        registry: trackers,
        instanceId: opts.cluster.instanceId,
        log: app.log,
        refreshMs: opts.cluster.directoryRefreshMs,
        staleMs: opts.cluster.directoryStaleMs,
      })
    : null;
  link.setHooks(orchestrator.linkHooks());
  const qoe = new QoeBoard({ clock, sessions: (program) => store.listSessions({ program }) });
  link.on('qoe', (ev) => qoe.record(ev.trackerId, ev.items));
  link.on('left', (ev) => qoe.ended(ev.sid));

  const health = new ControlHealthCheck({
    clock,
    store,
    database,
    probe: opts.databaseProbe,
    // Admission hands out every tracker of the cluster (listAll; one control server: those linked here).
    trackers: () => trackers.listAll().length,
    pendingDisconnects: () => orchestrator.pendingCount,
    noticesListening: opts.cluster && opts.cluster.notices.listening !== undefined ? () => opts.cluster?.notices.listening !== false : undefined,
  });
  // Before the admin routes: a console cookie signs a request in before their Basic check runs.
  const consoleSessions = new ConsoleSessions({ store, clock });
  app.addHook('onRequest', consoleAuthHook(consoleSessions));
  await app.register(publicRoutes({ admission, health }));
  await app.register(consoleRoutes({ admission, sessions: consoleSessions, store }));
  await app.register(consoleEvents({ sessions: consoleSessions, store, qoe, clock }));
  await app.register(adminRoutes({ store, clock, admission, trackers, orchestrator, qoe }));
  await app.register(deviceAdminRoutes({ store, admission, orchestrator }));
  await app.register(trackerCredentialRoutes({ store, clock, admission, link }));
  metrics.bind({
    sessions: () => store.listSessions(),
    trackers: () => trackers.list().length,
    pendingDisconnects: () => orchestrator.pendingCount,
    awaitingRejoin: () => link.awaitingRejoin,
    programQoe: (program) => qoe.programStats(program),
  });
  await app.register(metricsRoute(metrics, opts.metricsToken ?? null));
  link.attach(app.server);
  // The link's WebSockets hold the HTTP server open, so they go before it closes
  // (preClose); the orchestrator stops after, once queued link messages are done.
  app.addHook('preClose', async () => {
    await link.close();
  });
  app.addHook('onClose', async () => {
    await directory?.stop();
    await orchestrator.stop();
  });
  await app.ready();
  await directory?.start();
  await orchestrator.start();

  return {
    app,
    link,
    orchestrator,
    qoe,
    metrics,
    controlKey: signingKey.publicKey,
    trackers: () => trackers.list(),
    registry: trackers,
    instanceId: opts.cluster?.instanceId ?? null,
    // fastify names the scheme after its own https option, which a server factory does not set.
    listen: async (port, host = '127.0.0.1') => {
      const url = await app.listen({ port, host });
      return opts.webServer.scheme === 'https' ? url.replace(/^http:/, 'https:') : url;
    },
    close: () => app.close(),
  };
}
