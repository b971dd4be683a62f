/**
 * The control server's end of the control link: trackers connect over
 * WebSocket with the shared tracker secret or their own credentials
 * (tracker-credentials.ts) and report joins and leaves, which is how
 * the control server keeps its list of clients in the system (steps d and E).
 * Handlers are idempotent and every state change is acked, because trackers
 * retry until they see the ack. A bad frame is logged, never fatal.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { TimerHandle } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import { ProtocolError } from '../core/errors.js';
import { controlToTracker, DUPLICATE_ID_CLOSE, HELLO_FAILED_CLOSE, trackerToControl, type ControlToTracker, type TrackerToControl } from '../protocol/control-link.js';
import { MAX_JSON_FRAME } from '../protocol/json-messages.js';
import { takeQoeItems } from '../protocol/qoe.js';
import { addressKey } from '../core/address.js';
import { LoginThrottle, DEFAULT_LOGIN_LIMITS } from './login-throttle.js';
import { RejoinWatch } from './rejoin-watch.js';
import { revokedSessions } from './revocation-list.js';
import type { TrackerConnection } from './tracker-registry.js';
import { CREDENTIAL_MISMATCH_CLOSE, CREDENTIAL_REVOKED_CLOSE, rejectUpgrade, TrackerAuthenticator } from './tracker-credentials.js';
import type { LeftEvent, LinkState, TrackerLinkEvents, TrackerLinkHooks, TrackerLinkOptions } from './tracker-link-types.js';

/** Bad frames tolerated on one connection before it is closed with 1008. */
export const MAX_BAD_FRAMES = 5;
export const LINK_KEEPALIVE_MS = 15_000;
/** How often each control server re-checks the credentials of the links it holds (a revocation elsewhere closes them). */
export const CREDENTIAL_CHECK_MS = 2_000;

export type { LeftEvent, TrackerLinkEvents, TrackerLinkHooks, TrackerLinkOptions } from './tracker-link-types.js';

export class TrackerLink extends EventEmitter<TrackerLinkEvents> {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_JSON_FRAME });
  private readonly links = new Set<LinkState>();
  private readonly remotes = new WeakMap<WebSocket, string>();
  private readonly auth: TrackerAuthenticator;
  private readonly path: string;
  private pinger: TimerHandle | null = null;
  private checker: TimerHandle | null = null;
  private hooks: Partial<TrackerLinkHooks> = {};
  /**
   * The tracker secret is a password: wrong ones are throttled per client
   * address (IPv6 by /64) like every password check, so it cannot be brute
   * forced. A throttled address is refused (429) before its secret is looked at.
   */
  private readonly guesses: LoginThrottle;
  private readonly rejoin: RejoinWatch;

  constructor(private readonly opts: TrackerLinkOptions) {
    super();
    this.guesses = new LoginThrottle(opts.clock, DEFAULT_LOGIN_LIMITS);
    this.auth = new TrackerAuthenticator(opts.store, opts.trackerSecret);
    this.path = opts.path ?? DEFAULTS.controlLinkPath;
    this.rejoin = new RejoinWatch(opts.clock, opts.rejoinGraceMs ?? DEFAULTS.trackerRejoinGraceMs, (trackerId, sid) =>
      this.endLost(trackerId, sid).catch((err: unknown) => this.opts.log.error({ err, tracker: trackerId, sid }, 'ending a lost session failed')),
    );
  }

  /** Sessions a reconnected tracker did not list and that have not been reported joined again yet. */
  get awaitingRejoin(): number {
    return this.rejoin.size;
  }

  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    const every = this.opts.keepaliveMs === undefined ? LINK_KEEPALIVE_MS : this.opts.keepaliveMs;
    if (every !== null) this.pinger = this.opts.clock.setInterval(() => this.pingAll(), every);
    const check = this.opts.credentialCheckMs === undefined ? CREDENTIAL_CHECK_MS : this.opts.credentialCheckMs;
    if (check !== null) this.checker = this.opts.clock.setInterval(() => void this.checkCredentials(), check);
  }

  /** Closes the links that came in with tracker `id`'s own credential (just revoked; other instances: checkCredentials). */
  closeCredentialLinks(id: string): number {
    let closed = 0;
    for (const link of this.links) {
      if (link.credentialId !== id) continue;
      link.ws.close(CREDENTIAL_REVOKED_CLOSE, 'tracker credential revoked');
      closed += 1;
    }
    if (closed > 0) this.opts.log.warn({ tracker: id, links: closed }, 'control link closed: tracker credential revoked');
    return closed;
  }

  /** Re-checks the credential of every link that came in with one; a revoked (or removed) one's link is closed. */
  private async checkCredentials(): Promise<void> {
    for (const id of new Set([...this.links].flatMap((l) => (l.credentialId === null ? [] : [l.credentialId])))) {
      try {
        if (!(await this.auth.valid(id))) this.closeCredentialLinks(id);
      } catch (err) {
        this.opts.log.debug({ err, tracker: id }, 'tracker credential re-check failed; the link stays until the store answers');
      }
    }
  }

  setHooks(hooks: Partial<TrackerLinkHooks>): void {
    this.hooks = hooks;
  }

  /** Sends to a connected tracker; false if it is not connected (true even when an injected fault loses it). */
  send(trackerId: string, msg: ControlToTracker): boolean {
    const conn = this.opts.trackers.get(trackerId);
    if (!conn) return false;
    this.transmit(conn, msg);
    return true;
  }

  private transmit(conn: TrackerConnection, msg: ControlToTracker): void {
    if (msg.type !== 'welcome' && this.opts.faults?.drop('control-link', 'send', msg.type)) return;
    conn.send(msg);
  }

  async close(): Promise<void> {
    this.pinger?.cancel();
    this.checker?.cancel();
    this.rejoin.stop();
    const pending = [...this.links].map((l) => l.queue);
    const closing = [...this.links].map(
      (link) =>
        new Promise<void>((resolve) => {
          if (link.ws.readyState === link.ws.CLOSED) return resolve();
          const fallback = this.opts.clock.setTimeout(() => link.ws.terminate(), 1_000);
          link.ws.once('close', () => {
            fallback.cancel();
            resolve();
          });
          link.ws.close(1001, 'control server shutting down');
        }),
    );
    await Promise.all(closing);
    await Promise.all(pending);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (err) => this.opts.log.debug({ err }, 'control link socket error'));
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://control').pathname;
    } catch {
      pathname = '';
    }
    if (pathname !== this.path) return rejectUpgrade(socket, 404, 'Not Found');
    const ip = req.socket.remoteAddress;
    void this.guesses.begin([{ key: addressKey(ip ?? ''), limit: this.guesses.limits.perAddress }]).then(async (decision) => {
      if (!decision.allowed) {
        this.opts.log.debug({ ip }, 'control link refused: too many wrong tracker secrets from this address');
        return rejectUpgrade(socket, 429, 'Too Many Requests', decision.retryAfterS);
      }
      let auth;
      try {
        auth = await this.auth.check(req.headers.authorization);
      } catch (err) {
        // The credential store is away: not the tracker's fault, so not counted; it redials with backoff.
        decision.attempt.succeeded();
        this.opts.log.error({ err, ip }, 'control link refused: tracker credentials cannot be read (see /v1/health)');
        return rejectUpgrade(socket, 503, 'Service Unavailable');
      }
      if (auth.kind === 'refused') {
        decision.attempt.failed();
        this.opts.log.warn({ ip, why: auth.why }, 'control link refused: wrong tracker credential');
        return rejectUpgrade(socket, 401, 'Unauthorized');
      }
      decision.attempt.succeeded();
      if (socket.destroyed) return;
      const credentialId = auth.kind === 'credential' ? auth.id : null;
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, ip, credentialId));
    });
  }

  private onConnection(ws: WebSocket, ip: string | undefined, credentialId: string | null): void {
    const link: LinkState = { ws, credentialId, conn: null, badFrames: 0, alive: true, queue: Promise.resolve() };
    this.remotes.set(ws, ip ?? '?');
    this.links.add(link);
    ws.on('pong', () => {
      link.alive = true;
    });
    ws.on('message', (data, isBinary) => {
      link.alive = true;
      link.queue = link.queue
        .then(() => this.onFrame(link, data, isBinary))
        .catch((err: unknown) => this.opts.log.error({ err, tracker: link.conn?.info.id }, 'control link message failed'));
    });
    ws.on('error', (err) => this.opts.log.warn({ err, tracker: link.conn?.info.id }, 'control link error'));
    ws.on('close', () => {
      this.links.delete(link);
      if (link.conn) {
        this.opts.trackers.unregister(link.conn);
        this.opts.log.info({ tracker: link.conn.info.id }, 'tracker disconnected');
      }
    });
  }

  private remote(ws: WebSocket): string {
    return this.remotes.get(ws) ?? '?';
  }

  private badFrame(link: LinkState, reason: string): void {
    link.badFrames += 1;
    this.opts.log.warn({ tracker: link.conn?.info.id, reason, count: link.badFrames }, 'bad control link frame');
    if (link.badFrames >= MAX_BAD_FRAMES) link.ws.close(1008, 'too many bad frames');
  }

  private async onFrame(link: LinkState, data: RawData, isBinary: boolean): Promise<void> {
    if (isBinary) return this.badFrame(link, 'binary frame; the control link speaks JSON text');
    let msg: TrackerToControl;
    try {
      msg = trackerToControl.parse(data);
    } catch (err) {
      if (err instanceof ProtocolError) return this.badFrame(link, err.message);
      throw err;
    }
    if (msg.type === 'hello') {
      try {
        return await this.onHello(link, msg);
      } catch (err) {
        // A hello we cannot handle (the store failed: locked, full, damaged) must not leave the tracker waiting
        // for a welcome forever: it is closed, its id freed, and it redials with backoff and logs the reason.
        this.opts.log.error({ err, tracker: msg.tracker_id }, 'control link hello failed; closing the link');
        link.ws.close(HELLO_FAILED_CLOSE, 'the control server could not handle the hello (see its log and /v1/health)');
        return;
      }
    }
    const conn = link.conn;
    if (!conn) return this.badFrame(link, `${msg.type} before hello`);
    if (this.opts.faults?.drop('control-link', 'receive', msg.type)) return;
    switch (msg.type) {
      case 'join':
        return this.onJoin(conn, msg);
      case 'leave':
        return this.onLeave(conn, msg);
      case 'ack': {
        const ev = { trackerId: conn.info.id, id: msg.id };
        await this.hooks.acked?.(ev);
        this.emit('acked', ev);
        return;
      }
      case 'qoe': {
        // Checked item by item: one this version cannot take (a newer tracker's) is dropped, not counted as a bad frame.
        const { items, dropped } = takeQoeItems(msg.items);
        if (dropped > 0) this.opts.log.debug({ tracker: conn.info.id, dropped }, 'control link: qoe items dropped');
        if (items.length > 0) this.emit('qoe', { trackerId: conn.info.id, items });
        return;
      }
    }
  }

  private async onHello(link: LinkState, msg: Extract<TrackerToControl, { type: 'hello' }>): Promise<void> {
    const ws = link.ws;
    if (link.conn) {
      // One hello per link: a second one could re-point the tracker's URLs or resync away its sessions.
      return this.badFrame(link, 'a second hello on the same link');
    }
    if (link.credentialId !== null && msg.tracker_id !== link.credentialId) {
      // A tracker's own credential is good for its own id only: it may not stand in for another tracker.
      this.opts.log.warn({ tracker: msg.tracker_id, credential: link.credentialId, ip: this.remote(ws) }, 'control link refused: hello claims another tracker id than its credential');
      ws.close(CREDENTIAL_MISMATCH_CLOSE, `this link's credential is for tracker ${link.credentialId.slice(0, 60)}`);
      return;
    }
    const conn: TrackerConnection = {
      info: { id: msg.tracker_id, announceUrl: msg.announce_url, wsUrl: msg.ws_url, connectedAt: this.opts.clock.now() },
      send: (m) => {
        if (ws.readyState === ws.OPEN) ws.send(controlToTracker.encode(m));
      },
      open: () => ws.readyState === ws.OPEN,
    };
    if (!this.opts.trackers.register(conn)) {
      // The id is held by a live link: an impostor or a stale duplicate. The first keeps working; a really
      // restarted tracker redials and gets in once the old link has closed (at once when its process died,
      // else within two keepalive periods).
      this.opts.log.warn({ tracker: msg.tracker_id, ip: this.remote(ws) }, 'control link refused: tracker id already connected');
      ws.close(DUPLICATE_ID_CLOSE, 'tracker id already connected');
      return;
    }
    link.conn = conn;

    // Resync. Sessions this tracker held when we last heard from it but does not list now: a restarted tracker
    // has forgotten them while their clients are alive and about to re-announce, so they get a grace period to be
    // reported joined again (RejoinWatch); those not back by then have truly left. A session being kicked waits
    // too: the orchestrator resends its disconnect after this hello, which the tracker answers at once for a
    // session it does not hold, and keeps for its client should it come back (it hears the disconnect, step C).
    const held = new Set(msg.sessions);
    const awaited: string[] = [];
    for (const s of await this.opts.store.listSessions()) {
      if (s.state === 'joined' && s.trackerId === msg.tracker_id && !held.has(s.id)) awaited.push(s.id);
    }
    this.rejoin.expect(msg.tracker_id, awaited);
    for (const sid of held) this.rejoin.forget(sid);
    const now = this.opts.clock.now();
    // Sessions ended while their tokens may still be valid: the (restarted) tracker keeps refusing them.
    const revoked = await revokedSessions(this.opts.store, now, this.opts.tokenTtlMs ?? DEFAULTS.tokenTtlS * 1000);
    conn.send({ type: 'welcome', control_key: this.opts.controlKey, heartbeat_timeout_ms: DEFAULTS.heartbeatTimeoutMs, revoked, qoe: true });
    this.opts.log.info(
      { tracker: msg.tracker_id, announce: msg.announce_url, sessions: msg.sessions.length, awaited: awaited.length, revoked: revoked.length },
      'tracker connected',
    );
    await this.hooks.hello?.(msg.tracker_id);
  }

  /** A session its tracker no longer holds (not listed in a hello, not back within the grace): ended as `lost`. */
  private async endLost(trackerId: string, sid: string): Promise<void> {
    const s = await this.opts.store.getSession(sid);
    if (s?.state !== 'joined' || s.trackerId !== trackerId) return;
    await this.opts.store.updateSession(sid, { state: 'ended', endedAt: this.opts.clock.now(), endReason: 'lost' });
    this.opts.log.info({ tracker: trackerId, sid }, 'session lost: its tracker no longer holds it');
    const ev: LeftEvent = { trackerId, sid, reason: 'lost', ref: undefined };
    await this.hooks.left?.(ev);
    this.emit('left', ev);
  }

  private async onJoin(conn: TrackerConnection, msg: Extract<TrackerToControl, { type: 'join' }>): Promise<void> {
    const trackerId = conn.info.id;
    this.rejoin.forget(msg.sid);
    const session = await this.opts.store.getSession(msg.sid);
    if (!session) {
      this.opts.log.warn({ tracker: trackerId, sid: msg.sid }, 'join for an unknown session');
    } else if (session.state === 'ended') {
      this.opts.log.warn({ tracker: trackerId, sid: msg.sid }, 'join for a session that has ended');
      // A join older than the end is a retried report crossing the leave; a newer one is a client back in the swarm.
      if (session.endedAt === null || msg.at > session.endedAt) await this.hooks.joinedAfterEnd?.({ trackerId, sid: msg.sid });
    } else if (!(session.state === 'joined' && session.trackerId === trackerId && session.ip === msg.ip && session.port === msg.port)) {
      await this.opts.store.updateSession(msg.sid, { state: 'joined', ip: msg.ip, port: msg.port, trackerId, joinedAt: msg.at });
      this.emit('joined', { trackerId, sid: msg.sid, ip: msg.ip, port: msg.port });
      // A kick addressed to the tracker it left (dead, say) must follow it here.
      if (session.state === 'joined' && session.trackerId !== null && session.trackerId !== trackerId) {
        await this.hooks.moved?.({ trackerId, sid: msg.sid, from: session.trackerId });
      }
    }
    this.transmit(conn, { type: 'ack', id: msg.id });
  }

  private async onLeave(conn: TrackerConnection, msg: Extract<TrackerToControl, { type: 'leave' }>): Promise<void> {
    const trackerId = conn.info.id;
    this.rejoin.forget(msg.sid);
    const session = await this.opts.store.getSession(msg.sid);
    if (session && session.state !== 'ended' && session.trackerId !== null && session.trackerId !== trackerId && msg.ref === undefined) {
      // The client moved to another tracker (its join there is recorded): the old tracker's leave ends nothing.
      // One answering a disconnect (ref) still ends it, wherever it comes from.
      this.opts.log.info({ tracker: trackerId, sid: msg.sid, current: session.trackerId, reason: msg.reason }, 'leave from a tracker the session has moved away from; kept');
      this.transmit(conn, { type: 'ack', id: msg.id });
      return;
    }
    if (!session) {
      this.opts.log.warn({ tracker: trackerId, sid: msg.sid }, 'leave for an unknown session');
    } else if (session.state !== 'ended') {
      await this.opts.store.updateSession(msg.sid, { state: 'ended', endedAt: msg.at, endReason: msg.reason });
    }
    // Handled on duplicates too: a retried leave may be the first answer to a disconnect we are still retrying.
    const ev: LeftEvent = { trackerId, sid: msg.sid, reason: msg.reason, ref: msg.ref };
    if (session) {
      await this.hooks.left?.(ev);
      this.emit('left', ev);
    }
    // Only now, with the session and its disconnect recorded, does the tracker learn we have it (step E).
    const sent = this.opts.trackers.get(trackerId) === conn;
    this.transmit(conn, { type: 'ack', id: msg.id });
    if (session) await this.hooks.leaveAcked?.({ ...ev, sent });
  }

  private pingAll(): void {
    for (const link of this.links) {
      if (!link.alive) {
        this.opts.log.warn({ tracker: link.conn?.info.id }, 'control link silent; terminating');
        link.ws.terminate();
        continue;
      }
      link.alive = false;
      link.ws.ping();
    }
  }
}
