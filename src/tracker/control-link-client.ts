/**
 * The tracker's end of the control link: one WebSocket to the control server,
 * authenticated with the shared tracker secret or this tracker's own
 * credential (`ID.SECRET`: then its hello must say ID). It says hello (with the sessions held
 * now, so the control server can resync), learns the token key from welcome,
 * reports joins and leaves at-least-once (each has an id and is resent every
 * retry period until acked, across reconnects), and hands disconnect commands
 * (step A) to the tracker after acking them. A dropped link is redialled with
 * backoff on the injected clock.
 *
 * Several control servers (sharing one PostgreSQL database) may be given: the
 * link uses one at a time and moves to the next after a failed dial or a lost
 * link, says hello to it with the sessions held, and keeps its outbox (the
 * unacked joins and leaves) across the move. The backoff grows once per full
 * round of the list, so one URL behaves exactly as before.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import type { Clock, TimerHandle } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import type { MessageFaults } from '../core/faults.js';
import type { ControlOutage } from '../core/outage.js';
import { certificateProblem } from '../protocol/certificate-problem.js';
import {
  controlToTracker,
  CREDENTIAL_MISMATCH_CLOSE,
  CREDENTIAL_REVOKED_CLOSE,
  DUPLICATE_ID_CLOSE,
  HELLO_FAILED_CLOSE,
  parseTrackerCredential,
  trackerToControl,
  type ControlToTracker,
  type TrackerToControl,
} from '../protocol/control-link.js';

export { CREDENTIAL_MISMATCH_CLOSE, CREDENTIAL_REVOKED_CLOSE } from '../protocol/control-link.js';
import type { QoeItem } from '../protocol/qoe.js';
import type { SessionReporter } from './types.js';

/**
 * Redial backoff: the first retry comes quickly and the wait never exceeds a
 * second, so a restarted control server has its trackers back (and admits
 * again) within a second of listening. Dialling a dead loopback or LAN address
 * once a second costs nothing worth saving.
 */
export const LINK_BACKOFF_MIN_MS = 100;
export const LINK_BACKOFF_MAX_MS = 1_000;

type Report = Extract<TrackerToControl, { type: 'join' | 'leave' }>;

export interface ControlLinkOptions {
  /** The control server's base URL, or several (an array, or one string with commas: splitControlUrls). */
  controlUrl: string | readonly string[];
  secret: string;
  /** The TLS `ca` for a control server on HTTPS (ClientTrust.ca): undefined for Node's defaults. */
  ca?: string[];
  trackerId: string;
  announceUrl: string;
  wsUrl: string;
  clock: Clock;
  logger: Logger;
  retryMs?: number;
  /** The sids held now, sent in every hello. */
  sessions: () => string[];
  /** Told when the link comes up (welcome) and when it goes down, so tokens can be honored through an outage. */
  outage?: ControlOutage;
  /** The welcome's content, before the link counts as up. */
  onWelcome: (w: { controlKey: string; heartbeatTimeoutMs: number | null; revoked: string[] }) => Promise<void>;
  /** Step A arrived (already acked); may arrive more than once for the same id. */
  onDisconnect: (sid: string, reason: string, id: string) => void;
  /**
   * Tests lose messages on purpose. hello and welcome are exempt, as on the
   * control side: they have no retry (a lost one is a broken link, not loss).
   */
  faults?: MessageFaults;
}

/** The tracker id a tracker's own credential (`ID.SECRET`) is for; null for anything else (the shared tracker secret). */
export function credentialTrackerId(secret: string): string | null {
  return parseTrackerCredential(secret)?.id ?? null;
}

export function controlLinkUrl(controlUrl: string): string {
  return `${controlUrl.replace(/\/+$/, '').replace(/^http/, 'ws')}${DEFAULTS.controlLinkPath}`;
}

/** Control server URLs from a list and/or comma-separated strings (`--control a,b --control c`), blanks and duplicates dropped. */
export function splitControlUrls(value: string | readonly string[]): string[] {
  const parts = (typeof value === 'string' ? [value] : value).flatMap((v) => v.split(','));
  return [...new Set(parts.map((p) => p.trim()).filter((p) => p.length > 0))];
}

export class ControlLinkClient implements SessionReporter {
  private ws: WebSocket | null = null;
  private welcomed = false;
  /** The control server's welcome said it takes `qoe` frames. */
  private takesQoe = false;
  private stopped = false;
  private backoffMs = LINK_BACKOFF_MIN_MS;
  private redial: TimerHandle | null = null;
  private readonly urls: string[];
  /** Index in `urls` of the control server dialled (or linked) now. */
  private at = 0;
  private readonly outbox = new Map<string, { msg: Report; timer: TimerHandle | null }>();
  private readonly retryMs: number;
  private resolveReady!: () => void;
  /** Resolves at the first welcome. */
  readonly ready: Promise<void> = new Promise((resolve) => {
    this.resolveReady = resolve;
  });

  constructor(private readonly opts: ControlLinkOptions) {
    this.retryMs = opts.retryMs ?? DEFAULTS.linkRetryMs;
    this.urls = splitControlUrls(opts.controlUrl);
    if (this.urls.length === 0) throw new Error('the control link needs at least one control server URL');
  }

  /** The control server this link is on (or dialling) now. */
  get controlUrl(): string {
    return this.urls[this.at] ?? '';
  }

  start(): void {
    this.stopped = false;
    this.dial();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.redial?.cancel();
    for (const entry of this.outbox.values()) entry.timer?.cancel();
    const ws = this.ws;
    this.ws = null;
    this.welcomed = false;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1001, 'tracker stopping');
    });
  }

  get connected(): boolean {
    return this.welcomed;
  }

  /** Reports not yet acked by the control server. */
  get pending(): number {
    return this.outbox.size;
  }

  join(j: { sid: string; ip: string; port: number; at: number }): void {
    this.report({ type: 'join', id: randomUUID(), ...j });
  }

  leave(l: { sid: string; reason: string; ref?: string; at: number }): void {
    this.report({ type: 'leave', id: randomUUID(), ...l });
  }

  /**
   * Clients' QoE reports (qoe-relay.ts): sent once, never resent (latest wins); false while the link is down. A
   * control server that does not take them (no `qoe` in its welcome) would count them as bad frames: they are dropped.
   */
  sendQoe(items: QoeItem[]): boolean {
    if (!this.welcomed || this.ws?.readyState !== WebSocket.OPEN) return false;
    if (this.takesQoe) this.send({ type: 'qoe', items });
    return true;
  }

  private report(msg: Report): void {
    const entry = { msg, timer: null };
    this.outbox.set(msg.id, entry);
    this.transmit(msg.id);
  }

  /** Sends one report if the link is up, and arms its resend timer either way. */
  private transmit(id: string): void {
    const entry = this.outbox.get(id);
    if (!entry || this.stopped) return;
    if (this.welcomed) this.send(entry.msg);
    entry.timer?.cancel();
    entry.timer = this.opts.clock.setTimeout(() => this.transmit(id), this.retryMs);
  }

  private send(msg: TrackerToControl): void {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    if (msg.type !== 'hello' && this.opts.faults?.drop('control-link', 'send', msg.type)) return;
    this.ws.send(trackerToControl.encode(msg));
  }

  private dial(): void {
    if (this.stopped) return;
    const { logger } = this.opts;
    const url = this.controlUrl;
    const ws = new WebSocket(controlLinkUrl(url), {
      headers: { authorization: `Bearer ${this.opts.secret}` },
      maxPayload: 1024 * 1024,
      ca: this.opts.ca,
    });
    this.ws = ws;
    ws.on('open', () => {
      this.send({
        type: 'hello',
        tracker_id: this.opts.trackerId,
        announce_url: this.opts.announceUrl,
        ws_url: this.opts.wsUrl,
        sessions: this.opts.sessions(),
      });
    });
    ws.on('message', (data) => {
      let msg: ControlToTracker;
      try {
        msg = controlToTracker.parse(data);
      } catch (err) {
        logger.warn({ err }, 'control link: ignoring a bad message');
        return;
      }
      if (msg.type !== 'welcome' && this.opts.faults?.drop('control-link', 'receive', msg.type)) return;
      this.receive(msg).catch((err: unknown) => logger.error({ err }, 'control link: handling a message failed'));
    });
    ws.on('unexpected-response', (_req, res) => {
      const why =
        res.statusCode === 401 || res.statusCode === 403
          ? credentialTrackerId(this.opts.secret) === null
            ? ' (is the tracker secret right? is the shared secret turned off on the control server?)'
            : ` (is the credential of tracker ${this.opts.trackerId} right, or was it revoked?)`
          : '';
      logger.error(`control link refused: HTTP ${res.statusCode ?? '?'}${why}`);
      ws.terminate();
    });
    ws.on('error', (err) => {
      const cert = certificateProblem(err);
      if (cert) logger.error(`control link to ${url}: ${cert}`);
      else logger.warn({ err: err.message, control: url }, 'control link error');
    });
    ws.on('close', (code, reason) => {
      if (code === DUPLICATE_ID_CLOSE) {
        logger.error(`control link refused: a tracker with id ${this.opts.trackerId} is already connected; retrying until it is gone`);
      }
      if (code === CREDENTIAL_MISMATCH_CLOSE) {
        logger.error(`control link refused: our tracker id ${this.opts.trackerId} is not our credential's (${reason.toString()}); fix --id or GATECAST_TRACKER_SECRET`);
      }
      if (code === CREDENTIAL_REVOKED_CLOSE) {
        logger.error(`control link closed: this tracker's credential was revoked (${reason.toString()}); redials will be refused until it has a new one`);
      }
      if (code === HELLO_FAILED_CLOSE) {
        logger.error(`control link: the control server could not handle our hello (${reason.toString()}); retrying in ${this.backoffMs} ms`);
      }
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.welcomed) {
        logger.warn({ control: url }, 'control link lost; redialling (tokens valid now are honored until it is back, within the outage grace)');
        this.opts.outage?.unreachable(this.opts.clock.now());
      }
      this.welcomed = false;
      if (this.stopped) return;
      // The next control server in the list; the backoff applies (and grows) once a whole round has failed.
      this.at = (this.at + 1) % this.urls.length;
      let wait = LINK_BACKOFF_MIN_MS;
      if (this.at === 0) {
        wait = this.backoffMs;
        this.backoffMs = Math.min(this.backoffMs * 2, LINK_BACKOFF_MAX_MS);
      }
      if (this.urls.length > 1) logger.info({ from: url, to: this.controlUrl, waitMs: wait }, 'control link: trying the next control server');
      this.redial = this.opts.clock.setTimeout(() => this.dial(), wait);
    });
  }

  private async receive(msg: ControlToTracker): Promise<void> {
    switch (msg.type) {
      case 'welcome': {
        await this.opts.onWelcome({
          controlKey: msg.control_key,
          heartbeatTimeoutMs: msg.heartbeat_timeout_ms ?? null,
          revoked: msg.revoked ?? [],
        });
        if (this.stopped) return;
        this.takesQoe = msg.qoe === true;
        this.welcomed = true;
        this.backoffMs = LINK_BACKOFF_MIN_MS;
        this.opts.outage?.contact();
        this.opts.logger.info({ control: this.controlUrl }, `control link up (control server ${this.controlUrl})`);
        this.resolveReady();
        for (const id of [...this.outbox.keys()]) this.transmit(id);
        return;
      }
      case 'ack': {
        const entry = this.outbox.get(msg.id);
        entry?.timer?.cancel();
        this.outbox.delete(msg.id);
        return;
      }
      case 'disconnect':
        this.send({ type: 'ack', id: msg.id });
        this.opts.onDisconnect(msg.sid, msg.reason, msg.id);
        return;
    }
  }
}
