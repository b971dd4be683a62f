/**
 * Builds a tracker in a fixed order (chihaya's main): store → state → hooks →
 * logic → front ends → control link. This is the tracker's only wiring.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import type { Clock, TimerHandle } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import { ControlOutage } from '../core/outage.js';
import type { MessageFaults } from '../core/faults.js';
import type { RevocationRecord, RevocationStore, SwarmPeer, SwarmStore, WebServerFactory } from '../core/ports.js';
import { systemClock } from '../protocol/system-clock.js';
import { ChannelHolds } from './channel-holds.js';
import { ChannelPushes } from './channel-pushes.js';
import { ControlKey } from './control-key.js';
import { ControlLinkClient } from './control-link-client.js';
import { DisconnectChain } from './disconnect-chain.js';
import { startExpiry } from './expiry.js';
import { trackerHealth } from './health.js';
import { createHttpHandler } from './http-frontend.js';
import { Membership } from './membership.js';
import { CountedTrackerLogic, TrackerMetrics } from './metrics.js';
import { createProgramHook } from './program-hook.js';
import { createResponseHook } from './response-hook.js';
import { createPossessionHook } from './possession-hook.js';
import { QoeRelay } from './qoe-relay.js';
import { MemoryRevocationStore } from './revocation-memory.js';
import { Revocations, validUntil } from './revocations.js';
import { SessionRegistry } from './session-registry.js';
import { createSwarmHook } from './swarm-hook.js';
import { SwarmPrograms } from './swarm-programs.js';
import { createSessionHook, createTokenHook } from './token-hook.js';
import { TrackerLogic } from './tracker-logic.js';
import { attachChannelServer, CHANNEL_PATH, type ChannelLimits, type ChannelServer } from './ws-frontend.js';

export interface TrackerOptions {
  controlUrl: string;
  secret: string;
  port?: number;
  host?: string;
  /** Base URL others use to reach this tracker; defaults to http://host:port. */
  publicUrl?: string;
  /** Defaults to the public URL's host:port. */
  trackerId?: string;
  clock?: Clock;
  /**
   * Required, though the design calls it optional: tracker/ may not import
   * store/ (room doors), so the composition root picks the adapter
   * (MemorySwarmStore by default). The tracker does not close it. A store
   * shared by several trackers may bring the revocation list shared over the
   * same backend (`revocations`: cli/swarm-store.ts does for Redis).
   */
  store: SwarmStore & { readonly revocations?: RevocationStore };
  /**
   * The revocation list this tracker shares with others (default: the
   * store's `revocations`, else one of its own in memory, which it closes).
   * What any tracker on it revokes, this one refuses, pushes to its clients
   * of the program and lists in its `peers` answers. The tracker does not close one it is given.
   */
  revocationStore?: RevocationStore;
  /** Overrides the control server's welcome and DEFAULTS.heartbeatTimeoutMs. */
  heartbeatTimeoutMs?: number;
  announceIntervalS?: number;
  /** Resend period of unacked joins and leaves (DEFAULTS.linkRetryMs). */
  linkRetryMs?: number;
  /** Resend period of a disconnect to its client, and of `revoked` pushes to peers (CLIENT_RETRY_MS). */
  clientRetryMs?: number;
  /** Channel keepalive, bind timeout and outbound bound (DEFAULTS.tracker*). */
  channelLimits?: Partial<ChannelLimits>;
  /** At most this many revocations in one `peers` answer (DEFAULTS.trackerRevokedListMax). */
  revokedListMax?: number;
  /** Loses messages on the control link and the client channels, both ways (tests). */
  faults?: MessageFaults;
  logger?: Logger | boolean;
  /** Makes the HTTP server (cli/web-server.ts): with TLS, announce and channel are served over HTTPS and WSS only. */
  webServer: WebServerFactory;
  /** The control link's TLS `ca` (ClientTrust.ca): undefined for Node's defaults. */
  ca?: string[];
  /** /metrics' registry and counters (a fresh registry when absent; process metrics are the caller's to add). */
  metrics?: TrackerMetrics;
  /** Bearer token /metrics demands; null (default): loopback clients only (core/metrics-access.ts). */
  metricsToken?: string | null;
}

export interface Tracker {
  start(): Promise<{ announceUrl: string; wsUrl: string }>;
  stop(): Promise<void>;
  /** Resolves once the control link got welcome. */
  readonly ready: Promise<void>;
  peers(infoHash: string): Promise<SwarmPeer[]>;
  /** Refuses the session from now on and stops listing it to others. */
  revoke(sid: string): void;
  /** The sids this tracker holds now (revoked ones included until they leave). */
  sessions(): string[];
  isRevoked(sid: string): boolean;
  /** Joins and leaves not yet acked by the control server. */
  pendingReports(): number;
  /** Disconnects still being resent to their clients. */
  pendingDisconnects(): number;
  /** `revoked` pushes not yet acked by their peers (nor given up). */
  pendingPushes(): number;
  /** What /metrics serves. */
  readonly metrics: TrackerMetrics;
}

export const CLIENT_RETRY_MS = 500;

function makeLogger(opt: Logger | boolean | undefined): Logger {
  if (opt === true) return pino({ name: 'tracker' });
  if (!opt) return pino({ level: 'silent' });
  return opt.child({ component: 'tracker' });
}

export async function createTracker(opts: TrackerOptions): Promise<Tracker> {
  const clock = opts.clock ?? systemClock;
  const logger = makeLogger(opts.logger);
  const store = opts.store;
  const intervalS = opts.announceIntervalS ?? DEFAULTS.announceIntervalS;
  let heartbeatTimeoutMs = opts.heartbeatTimeoutMs ?? DEFAULTS.heartbeatTimeoutMs;

  // Whether the control server is reachable, as the control link finds it: while it is not, tokens valid when the
  // link went down are honored past their expiry (core/outage.ts), so its clients are not ended for not renewing.
  const outage = new ControlOutage(clock);
  const key = new ControlKey(outage);
  const registry = new SessionRegistry();
  const given = opts.revocationStore ?? opts.store.revocations;
  const shared = given ?? new MemoryRevocationStore();
  const revocations = new Revocations(outage, (r) => shared.share(r));
  const holds = new ChannelHolds(outage);
  const programs = new SwarmPrograms();
  // The link is built at start(), when the URLs are known; reports made before go nowhere (none can be: nobody is admitted without a key).
  let link: ControlLinkClient | null = null;
  // Clients' QoE from their heartbeats, relayed to the control server in batches; dropped when a session leaves.
  const qoe = new QoeRelay({ clock, send: (items) => link?.sendQoe(items) ?? false });
  const reporter = {
    join: (j: Parameters<ControlLinkClient['join']>[0]) => link?.join(j),
    leave: (l: Parameters<ControlLinkClient['leave']>[0]) => {
      qoe.forget(l.sid);
      link?.leave(l);
    },
  };
  const pushes = new ChannelPushes({ clock, retryMs: opts.clientRetryMs ?? CLIENT_RETRY_MS });
  const chain: DisconnectChain = new DisconnectChain({
    registry,
    revocations,
    reporter,
    pushes,
    clock,
    retryMs: opts.clientRetryMs ?? CLIENT_RETRY_MS,
    // The closure runs only on disconnects, long after `membership` exists.
    leave: (sid, reason, ref) => membership.leave(sid, reason, ref),
    logger,
  });
  const membership = new Membership({
    store,
    registry,
    programs,
    revocations,
    reporter,
    clock,
    onLeft: (sid) => chain.settled(sid),
    onStopped: (s) => chain.stopped(s),
    onRemoveFailed: (sid, err) => logger.warn({ err, sid }, 'a leaving session could not be removed from the swarm store; its leave is reported anyway and its entry expires there'),
  });
  const metrics = opts.metrics ?? new TrackerMetrics();
  const logic: TrackerLogic = new CountedTrackerLogic({
    preHooks: [
      createTokenHook({ key, clock }),
      createPossessionHook({ holds, registry, clock }),
      createSessionHook({ revocations }),
      // The closure runs only on announces, long after `logic` exists.
      createProgramHook({ programs, onRebound: (infoHash, program) => logic.evictOthers(infoHash, program) }),
      createResponseHook({ store, revocations, intervalS, clock, revokedListMax: opts.revokedListMax ?? DEFAULTS.trackerRevokedListMax }),
    ],
    postHooks: [
      createSwarmHook({
        membership,
        clock,
        // Stock HTTP clients only announce every interval: they get two intervals of grace.
        timeoutMs: (transport) => (transport === 'ws' ? heartbeatTimeoutMs : 2 * intervalS * 1000),
      }),
    ],
    membership,
    registry,
    revocations,
    holds,
    programs,
    store,
    key,
    outage,
    clock,
    answers: chain,
    qoe,
  }, metrics);

  let readyResolve!: () => void;
  const ready = new Promise<void>((resolve) => {
    readyResolve = resolve;
  });
  let server: Server | null = null;
  let channels: ChannelServer | null = null;
  let sweeper: TimerHandle | null = null;
  let urls: { announceUrl: string; wsUrl: string } | null = null;
  let stopped = false;
  // Another tracker's revocation (or this one's coming back): new here, this tracker acts on it as its own.
  const onShared = (r: RevocationRecord): void => {
    if (stopped) return;
    // One whose tokens are all past (an old entry handed in again by a reload) is only remembered.
    if (revocations.learn(r) && outage.honoredUntil(r.until) > clock.now()) chain.revokedElsewhere(r);
  };


  const describe = (): Record<string, unknown> => ({
    service: 'gatecast tracker',
    announce: urls?.announceUrl ?? null,
    ws: urls?.wsUrl ?? null,
    control_link: link?.connected ? 'up' : 'down',
    swarms: registry.swarms,
    sessions: registry.size,
    channels: channels?.size ?? 0,
    announce_interval_s: intervalS,
    heartbeat_timeout_ms: heartbeatTimeoutMs,
  });
  metrics.bind({
    sessions: () => registry.size,
    swarms: () => registry.swarms,
    linkBacklog: () => link?.pending ?? 0,
    linkUp: () => link?.connected ?? false,
    channels: () => channels?.size ?? 0,
    pendingDisconnects: () => chain.size,
    pendingPushes: () => pushes.size,
  });

  return {
    ready,
    metrics,
    revoke: (sid) => {
      const now = clock.now();
      const s = registry.get(sid);
      revocations.revoke(sid, now, null, s ? { program: s.program, until: validUntil(now, s) } : {});
    },
    peers: (infoHash) => store.list(infoHash),
    sessions: () => registry.sids(),
    isRevoked: (sid) => revocations.has(sid),
    pendingReports: () => link?.pending ?? 0,
    pendingDisconnects: () => chain.size,
    pendingPushes: () => pushes.size,

    async start() {
      if (urls) return urls;
      const host = opts.host ?? '127.0.0.1';
      // Before serving: a revocation shared while this tracker was down is refused from its first announce.
      await shared.subscribe(onShared);
      const health = trackerHealth({
        clock,
        link: () => link,
        hasKey: () => key.ready,
        sessions: () => registry.size,
        swarms: () => registry.swarms,
        shared: () => shared.status(),
      });
      const http = opts.webServer.create(createHttpHandler({ logic, describe, health, logger, metrics, metricsToken: opts.metricsToken ?? null }));
      http.on('clientError', (_err, socket) => {
        if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      });
      channels = attachChannelServer(http, {
        logic,
        heartbeatS: () => heartbeatTimeoutMs / 4 / 1000,
        logger,
        clock,
        limits: opts.channelLimits,
        faults: opts.faults,
      });
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(opts.port ?? 0, host, () => {
          http.off('error', reject);
          resolve();
        });
      });
      // Accept errors (EMFILE under load) must not take the tracker down.
      http.on('error', (err) => logger.error({ err }, 'tracker HTTP server error'));
      server = http;
      const { port } = http.address() as AddressInfo;
      const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
      const base = (opts.publicUrl ?? `${opts.webServer.scheme}://${shownHost}:${port}`).replace(/\/+$/, '');
      urls = { announceUrl: `${base}/announce`, wsUrl: `${base.replace(/^http/, 'ws')}${CHANNEL_PATH}` };
      sweeper = startExpiry({
        clock,
        everyMs: DEFAULTS.trackerSweepMs,
        stallMarginMs: DEFAULTS.trackerStallMarginMs,
        sweep: () => logic.sweep(),
        stalled: (ms) => logic.creditStall(ms),
        logger,
      });
      link = new ControlLinkClient({
        controlUrl: opts.controlUrl,
        secret: opts.secret,
        ca: opts.ca,
        trackerId: opts.trackerId ?? new URL(base).host,
        announceUrl: urls.announceUrl,
        wsUrl: urls.wsUrl,
        clock,
        logger,
        retryMs: opts.linkRetryMs,
        sessions: () => registry.sids(),
        outage,
        onWelcome: async (w) => {
          await key.set(w.controlKey);
          if (opts.heartbeatTimeoutMs === undefined && w.heartbeatTimeoutMs !== null) heartbeatTimeoutMs = w.heartbeatTimeoutMs;
          // Ended sessions whose tokens may still be valid: a restarted tracker keeps refusing them.
          // Every tracker gets the list in its own welcome: not shared.
          for (const sid of w.revoked) revocations.revoke(sid, clock.now(), null, { share: false });
        },
        // Step A → B (see disconnect-chain.ts); the link has acked it.
        onDisconnect: (sid, reason, id) => chain.disconnect(sid, reason, id),
        faults: opts.faults,
      });
      void link.ready.then(readyResolve);
      link.start();
      qoe.start();
      logger.info({ announce: urls.announceUrl, ws: urls.wsUrl }, 'tracker listening');
      return urls;
    },

    async stop() {
      stopped = true;
      if (!given) await shared.close();
      sweeper?.cancel();
      sweeper = null;
      qoe.stop();
      chain.close();
      pushes.close();
      await link?.stop();
      await channels?.close();
      channels = null;
      const http = server;
      server = null;
      if (http) {
        await new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        });
      }
    },
  };
}
