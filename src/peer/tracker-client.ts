/**
 * The client's side of the tracker channel (steps c–d, and the receiving end
 * of step B): waits for the tracker's challenge (`welcome`), announces with
 * the access token and a proof of the session key over that challenge, keeps
 * heartbeats going, and surfaces what the tracker pushes (disconnect,
 * revocation) and the revocations each `peers` answer lists.
 */
import { EventEmitter } from 'node:events';
import { randomUUID, sign, type KeyObject } from 'node:crypto';
import WebSocket from 'ws';
import type { Clock, TimerHandle } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import type { MessageFaults } from '../core/faults.js';
import { ClientError, InternalError, ProtocolError, isClientErrorCode } from '../core/errors.js';
import { UNAVAILABLE } from '../core/unavailable.js';
import {
  channelProofMessage,
  clientToTracker,
  trackerToClient,
  type ChannelPeer,
  type ClientToTracker,
  type TrackerToClient,
} from '../protocol/tracker-channel.js';
import type { Qoe } from '../protocol/qoe.js';

export interface TrackerClientOptions {
  /** The tracker to use first (the metadata's `tracker.ws`)... */
  wsUrl: string;
  /**
   * ...and the others of the metadata's `trackers`, in order: moveOn() goes to
   * the next (wrapping around) with the same session and token.
   */
  otherUrls?: readonly string[];
  infoHash: string;
  peerId: string;
  port: number;
  token: () => string;
  /** The session the token is for, and its client key (private): every announce proves possession of it. */
  sid: string;
  clientKey: KeyObject;
  clock: Clock;
  numwant?: number;
  /** How long to wait for an answer to an announce. */
  replyTimeoutMs?: number;
  /** `stopped` is resent this often until the tracker acks it (step C is at-least-once too). */
  stoppedRetryMs?: number;
  /** ...for at most this long; after that the tracker's heartbeat timeout finishes the job. */
  stoppedGiveUpMs?: number;
  faults?: MessageFaults;
  /**
   * A channel on which nothing came for this long (not even the tracker's
   * keepalive ping, every DEFAULTS.trackerKeepaliveMs) is dropped and reported
   * lost: a tracker whose machine vanished sends no FIN. Default
   * DEFAULTS.peer.trackerSilenceMs (three pings' worth); null never.
   */
  silenceMs?: number | null;
  /** The TLS `ca` for a wss:// tracker (ClientTrust.ca): undefined for Node's defaults. */
  ca?: string[];
}

export interface TrackerClientEvents {
  peers: [ChannelPeer[]];
  disconnect: [{ id: string; reason: string }];
  /** A session to refuse: pushed by the tracker, or listed in a `peers` answer (emitted before `peers`, once per sid). */
  revoked: [{ id: string; sid: string }];
  /** The channel closed and was not closed by us. */
  lost: [Error];
  /** The tracker sent something we could not understand; the channel stays open. */
  warning: [Error];
  /** A channel's first announce was accepted: we are listed on the tracker at `url`. */
  joined: [{ url: string }];
}

interface PendingReply {
  resolve: (msg: TrackerToClient) => void;
  reject: (err: Error) => void;
  timer: TimerHandle;
}

export class TrackerClient extends EventEmitter<TrackerClientEvents> {
  private ws: WebSocket | null = null;
  private heartbeat: TimerHandle | null = null;
  private readonly pending = new Map<string, PendingReply>();
  private closing = false;
  private connecting: Promise<void> | null = null;
  private lastToken = '';
  /** The open channel's challenge (from its `welcome`). */
  private nonce: string | null = null;
  private readonly replyTimeoutMs: number;
  /** Pushes already handled, so a retried push is acknowledged but acted on once. */
  private readonly seenPushes = new Set<string>();
  /** Resolves the pending connect() once the welcome is in. */
  private welcomed: (() => void) | null = null;
  /** What each heartbeat reports (setQoe); none by default. */
  private qoe: (() => Qoe | null) | null = null;
  /** Every tracker we may use, the first one first; `at` is the one in use. */
  private readonly urls: readonly string[];
  private at = 0;
  /** Whether the open channel has had an announce accepted (the `joined` event is once per channel). */
  private listed = false;
  /** The silence watch of the open channel, and when it last heard from the tracker. */
  private watch: TimerHandle | null = null;
  private heardAt = 0;

  constructor(private readonly opts: TrackerClientOptions) {
    super();
    this.replyTimeoutMs = opts.replyTimeoutMs ?? 5_000;
    this.urls = [opts.wsUrl, ...(opts.otherUrls ?? []).filter((u) => u !== opts.wsUrl)];
  }

  /** The tracker channel URL in use (or to be used by the next start()). */
  get url(): string {
    return this.urls[this.at] ?? this.opts.wsUrl;
  }

  /** How many trackers this client may use. */
  get trackerCount(): number {
    return this.urls.length;
  }

  /**
   * Moves to the next tracker of the list (wrapping around; the same one when
   * there is only one) for the next start(). Only while no channel is open: an
   * open channel is never dropped for another tracker.
   */
  moveOn(): string {
    if (!this.connected && this.connecting === null) this.at = (this.at + 1) % this.urls.length;
    return this.url;
  }

  /** From now on every heartbeat carries what `provider` gives (null: nothing this time). */
  setQoe(provider: () => Qoe | null): void {
    this.qoe = provider;
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Opens the channel (unless it is open) and announces; resolves with the peer list. */
  async start(): Promise<ChannelPeer[]> {
    if (!this.connected) {
      this.closing = false;
      await this.connect();
    }
    return this.announce();
  }

  async announce(): Promise<ChannelPeer[]> {
    const id = randomUUID();
    if (this.nonce === null) throw new InternalError('tracker channel is not open');
    this.lastToken = this.opts.token();
    const { infoHash, peerId, port, sid } = this.opts;
    const proof = sign(null, channelProofMessage({ nonce: this.nonce, sid, infoHash, peerId, port }), this.opts.clientKey).toString('base64url');
    const reply = await this.request(id, {
      type: 'announce',
      id,
      token: this.lastToken,
      info_hash: infoHash,
      peer_id: peerId,
      port,
      numwant: this.opts.numwant ?? 30,
      proof,
    });
    if (reply.type !== 'peers') throw new InternalError(`tracker answered an announce with ${reply.type}`);
    this.startHeartbeat(reply.heartbeat_s * 1000);
    if (!this.listed) {
      this.listed = true;
      this.emit('joined', { url: this.url });
    }
    this.emit('peers', reply.peers);
    return reply.peers;
  }

  /**
   * Step C: tells the tracker we stop, resending until it acks (bounded), and
   * stops heartbeats. The same id on every attempt: the tracker acts once.
   */
  async stopped(ref?: string): Promise<void> {
    this.stopHeartbeat();
    const id = randomUUID();
    const msg: ClientToTracker = ref ? { type: 'stopped', id, ref } : { type: 'stopped', id };
    const retry = this.opts.stoppedRetryMs ?? 250;
    const deadline = this.opts.clock.now() + (this.opts.stoppedGiveUpMs ?? 3_000);
    while (this.connected && this.opts.clock.now() < deadline) {
      const acked = await this.request(id, msg, retry).then(
        () => true,
        () => false,
      );
      if (acked) break;
    }
    this.close();
  }

  close(): void {
    this.closing = true;
    this.stopHeartbeat();
    this.stopWatch();
    for (const [, p] of this.pending) {
      p.timer.cancel();
      p.reject(new InternalError('tracker channel closed'));
    }
    this.pending.clear();
    this.ws?.close();
    this.ws = null;
  }

  private connect(): Promise<void> {
    if (this.connecting) return this.connecting;
    const url = this.url;
    this.connecting = new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url, { handshakeTimeout: this.replyTimeoutMs, ca: this.opts.ca });
      this.ws = ws;
      this.nonce = null;
      this.listed = false;
      // Open once the tracker's challenge is in: nothing can be announced before it.
      let opened = false;
      const noWelcome = this.opts.clock.setTimeout(() => {
        reject(new InternalError(`tracker at ${url} sent no welcome within ${this.replyTimeoutMs} ms`));
        ws.terminate();
      }, this.replyTimeoutMs);
      this.welcomed = () => {
        opened = true;
        noWelcome.cancel();
        this.startWatch(ws, url);
        resolve();
      };
      ws.on('ping', () => this.heard(ws));
      // Kept for the socket's whole life: a second 'error' with no listener would throw.
      ws.on('error', (err) => {
        if (!opened) {
          noWelcome.cancel();
          reject(new InternalError(`cannot reach tracker at ${url}: ${err.message}`));
        }
      });
      ws.on('message', (data, isBinary) => {
        this.heard(ws);
        this.onMessage(isBinary ? data : data.toString());
      });
      ws.on('close', (code, reason) => {
        if (!opened) {
          noWelcome.cancel();
          reject(new InternalError(`tracker at ${url} closed the channel before its welcome (${code} ${reason.toString()})`));
        }
        if (this.ws === ws) {
          this.stopHeartbeat();
          this.stopWatch();
          this.nonce = null;
        }
        // A connection that never opened was already reported by the rejected start().
        if (opened && !this.closing && this.ws === ws) this.emit('lost', new InternalError('tracker channel closed by the tracker'));
      });
    }).finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private onMessage(data: unknown): void {
    let msg: TrackerToClient;
    try {
      msg = trackerToClient.parse(data);
    } catch (err) {
      // A tracker we cannot understand is not a reason to crash the viewer.
      this.emit('warning', err instanceof ProtocolError ? err : new ProtocolError(String(err)));
      return;
    }
    // The welcome is part of opening the channel: never subject to the test faults.
    if (msg.type !== 'welcome' && this.opts.faults?.drop('tracker-channel', 'receive', msg.type)) return;
    switch (msg.type) {
      case 'welcome':
        if (this.nonce !== null) {
          this.emit('warning', new ProtocolError('tracker sent a second welcome'));
          return;
        }
        this.nonce = msg.nonce;
        this.welcomed?.();
        this.welcomed = null;
        return;
      case 'peers':
        // Before the answer settles, so the swarm refuses them before it dials anyone listed.
        for (const sid of msg.revoked ?? []) if (this.firstTime(`revoked:${sid}`)) this.emit('revoked', { id: `revoked:${sid}`, sid });
        this.settle(msg.id, msg);
        return;
      case 'ack':
        this.settle(msg.id, msg);
        return;
      case 'error':
        if (msg.id && this.pending.has(msg.id)) {
          const p = this.pending.get(msg.id);
          this.pending.delete(msg.id);
          p?.timer.cancel();
          p?.reject(trackerError(msg.code, msg.message));
        } else {
          this.emit('warning', trackerError(msg.code, msg.message));
        }
        return;
      case 'disconnect':
        this.send({ type: 'ack', id: msg.id });
        if (this.firstTime(msg.id)) this.emit('disconnect', { id: msg.id, reason: msg.reason });
        return;
      case 'revoked':
        this.send({ type: 'ack', id: msg.id });
        if (this.firstTime(msg.id)) this.emit('revoked', { id: msg.id, sid: msg.sid });
        return;
    }
  }

  private firstTime(id: string): boolean {
    if (this.seenPushes.has(id)) return false;
    this.seenPushes.add(id);
    if (this.seenPushes.size > 1000) this.seenPushes.delete(this.seenPushes.values().next().value as string);
    return true;
  }

  private settle(id: string, msg: TrackerToClient): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.timer.cancel();
    p.resolve(msg);
  }

  private request(id: string, msg: ClientToTracker, timeoutMs = this.replyTimeoutMs): Promise<TrackerToClient> {
    return new Promise((resolve, reject) => {
      const timer = this.opts.clock.setTimeout(() => {
        this.pending.delete(id);
        reject(new InternalError(`tracker did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      if (!this.send(msg)) {
        timer.cancel();
        this.pending.delete(id);
        reject(new InternalError('tracker channel is not open'));
      }
    });
  }

  private send(msg: ClientToTracker): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    if (this.opts.faults?.drop('tracker-channel', 'send', msg.type)) return true;
    this.ws.send(clientToTracker.encode(msg));
    return true;
  }

  private heard(ws: WebSocket): void {
    if (this.ws === ws) this.heardAt = this.opts.clock.now();
  }

  /** Drops the channel once the tracker has been silent for silenceMs (checked a third of that apart). */
  private startWatch(ws: WebSocket, url: string): void {
    this.stopWatch();
    const limit = this.opts.silenceMs === undefined ? DEFAULTS.peer.trackerSilenceMs : this.opts.silenceMs;
    if (limit === null) return;
    this.heardAt = this.opts.clock.now();
    this.watch = this.opts.clock.setInterval(() => {
      if (this.ws !== ws || this.opts.clock.now() - this.heardAt < limit) return;
      this.stopWatch();
      this.emit('warning', new InternalError(`tracker at ${url} silent for ${limit} ms: dropping its channel`));
      // The close that follows reports the channel lost, as a tracker's own close would.
      ws.terminate();
    }, Math.max(100, Math.floor(limit / 3)));
  }

  private stopWatch(): void {
    this.watch?.cancel();
    this.watch = null;
  }

  private startHeartbeat(everyMs: number): void {
    this.stopHeartbeat();
    this.heartbeat = this.opts.clock.setInterval(() => {
      const token = this.opts.token();
      const qoe = this.qoe?.() ?? null;
      const withQoe = qoe ? { qoe } : {};
      if (token !== this.lastToken) {
        this.lastToken = token;
        this.send({ type: 'heartbeat', token, ...withQoe });
      } else {
        this.send({ type: 'heartbeat', ...withQoe });
      }
    }, Math.max(200, everyMs));
  }

  private stopHeartbeat(): void {
    this.heartbeat?.cancel();
    this.heartbeat = null;
  }
}

/**
 * A tracker's error answer: a refusal (ClientError, which ends the session),
 * except `unavailable` (its swarm store unreachable) and `internal` (a bug):
 * the tracker's own faults, where retrying, or another tracker, may succeed.
 */
function trackerError(code: string, message: string): ClientError | InternalError {
  if (code === UNAVAILABLE) return new InternalError(`tracker unavailable: ${message}`);
  if (code === 'internal') return new InternalError(`tracker failed: ${message}`);
  return new ClientError(isClientErrorCode(code) ? code : 'forbidden', `tracker refused: ${message}`);
}
