/**
 * The WebSocket front end at /ws (gatecast's tracker channel): parses frames,
 * calls the same logic as HTTP, writes replies.
 *
 * Possession: the first frame on a channel is `welcome` with a fresh nonce;
 * every announce signs it with the token's client key (possession-hook.ts).
 * The first accepted announce binds the channel to its session; from then on
 * the channel speaks for that session only (heartbeats, renewed tokens of the
 * same session and key, `stopped`, acks). A channel bound to nothing may stop
 * only the session whose key it last proved (a revoked session answering its
 * disconnect by ref); one that has proved nothing cannot announce, heartbeat,
 * stop or ack anything.
 *
 * Limits: a bad frame gets a specific error and the channel stays open, up
 * to a limit of bad frames; a channel with no accepted announce within the
 * bind timeout is closed (4001); one that did not answer the last keepalive
 * ping is dropped; one whose unsent replies pass the outbound bound (a client
 * that does not read) is closed (4008); one that sends faster than its frames
 * are handled is not read until they are. Closing without `stopped` leaves the
 * peer in the swarm until its heartbeat timeout.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { Clock, TimerHandle } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import { ClientError, isClientError, ProtocolError } from '../core/errors.js';
import type { MessageFaults } from '../core/faults.js';
import { isUnavailable, UNAVAILABLE } from '../core/unavailable.js';
import { MAX_JSON_FRAME } from '../protocol/json-messages.js';
import { clientToTracker, trackerToClient, type ClientToTracker, type TrackerToClient } from '../protocol/tracker-channel.js';
import { parseQoe, type Qoe } from '../protocol/qoe.js';
import { remoteIp, STORE_UNAVAILABLE } from './http-frontend.js';
import type { TrackerLogic } from './tracker-logic.js';
import type { AnnounceContext, ChannelHandle } from './types.js';

export const CHANNEL_PATH = '/ws';
export const MAX_BAD_FRAMES = 20;
/** Close codes (4000–4999 are the application's). */
export const CLOSE_NOT_BOUND = 4001;
export const CLOSE_QUEUE_FULL = 4008;

export interface ChannelServer {
  close(): Promise<void>;
  /** Channels open now. */
  readonly size: number;
}

export interface ChannelLimits {
  /** Ping period; a channel that did not answer the previous ping is dropped (DEFAULTS.trackerKeepaliveMs). */
  keepaliveMs: number;
  /** A channel with no accepted announce this long after opening is closed (DEFAULTS.trackerBindTimeoutMs). */
  bindTimeoutMs: number;
  /** Unsent bytes past which a channel is closed (DEFAULTS.trackerMaxBufferedBytes). */
  maxBufferedBytes: number;
  /** A closed channel's socket is destroyed this long after the close frame (DEFAULTS.trackerCloseGraceMs). */
  closeGraceMs: number;
  /** Frames received but not yet handled past which the socket is not read (DEFAULTS.trackerMaxPendingFrames). */
  maxPendingFrames: number;
}

export const DEFAULT_CHANNEL_LIMITS: ChannelLimits = {
  keepaliveMs: DEFAULTS.trackerKeepaliveMs,
  bindTimeoutMs: DEFAULTS.trackerBindTimeoutMs,
  maxBufferedBytes: DEFAULTS.trackerMaxBufferedBytes,
  closeGraceMs: DEFAULTS.trackerCloseGraceMs,
  maxPendingFrames: DEFAULTS.trackerMaxPendingFrames,
};

export interface ChannelDeps {
  logic: TrackerLogic;
  heartbeatS: () => number;
  logger: Logger;
  clock: Clock;
  limits?: Partial<ChannelLimits>;
  maxBadFrames?: number;
  /** Tests lose channel messages on purpose (both directions); production passes nothing. */
  faults?: MessageFaults;
}

interface Live {
  ws: WebSocket;
  /** Answered the last ping. */
  pong: boolean;
  /** Over a limit: closing, nothing more is sent. */
  shut(code: number, reason: string): void;
}

export function attachChannelServer(server: Server, deps: ChannelDeps): ChannelServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_JSON_FRAME });
  const limits: ChannelLimits = { ...DEFAULT_CHANNEL_LIMITS, ...deps.limits };
  const live = new Set<Live>();

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== CHANNEL_PATH) {
      // A peer resetting the refused socket must not become an uncaught error.
      socket.on('error', () => socket.destroy());
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nthe tracker channel is at /ws\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const l = serveChannel(ws, remoteIp(req), deps, limits);
      live.add(l);
      ws.on('close', () => live.delete(l));
    });
  };
  server.on('upgrade', onUpgrade);

  // Dead TCP connections must not pile up: every keepalive period each channel
  // is pinged, and one that did not answer the previous ping is dropped. (The
  // server runs in noServer mode: channels are tracked here, not through its
  // 'connection' event, which it never fires.)
  const keepalive = deps.clock.setInterval(() => {
    for (const l of live) {
      if (!l.pong) {
        l.ws.terminate();
        continue;
      }
      l.pong = false;
      l.ws.ping();
    }
  }, limits.keepaliveMs);

  return {
    get size() {
      return live.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        keepalive.cancel();
        server.off('upgrade', onUpgrade);
        for (const l of live) l.ws.terminate();
        wss.close(() => resolve());
      }),
  };
}

function serveChannel(ws: WebSocket, ip: string, deps: ChannelDeps, limits: ChannelLimits): Live {
  const { logic, logger, faults, clock } = deps;
  const maxBad = deps.maxBadFrames ?? MAX_BAD_FRAMES;
  const nonce = randomBytes(32).toString('base64url');
  /** The session an accepted announce bound the channel to (it proved that key)... */
  let sid: string | null = null;
  /** ...and the session of the last proof that checked out, accepted or not (a revoked one may still stop by ref). */
  let proven: string | null = null;
  let badFrames = 0;
  const proofMemo: { last: string | null } = { last: null };
  let killer: TimerHandle | null = null;
  // Frames are handled one at a time so an announce binds the channel before the next frame runs.
  let queue: Promise<void> = Promise.resolve();

  const l: Live = {
    ws,
    pong: true,
    shut(code, reason) {
      if (killer) return;
      ws.close(code, reason);
      // A client that does not read never answers the close frame either.
      killer = clock.setTimeout(() => ws.terminate(), limits.closeGraceMs);
    },
  };
  ws.on('pong', () => {
    l.pong = true;
  });

  const channel: ChannelHandle = {
    send(msg: TrackerToClient) {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (faults?.drop('tracker-channel', 'send', msg.type)) return;
      ws.send(trackerToClient.encode(msg));
      if (ws.bufferedAmount > limits.maxBufferedBytes) {
        logger.warn({ ip, sid, buffered: ws.bufferedAmount }, 'tracker channel: outbound queue over limit, closing');
        l.shut(CLOSE_QUEUE_FULL, 'outbound queue over limit: the client does not read');
      }
    },
    get open() {
      return ws.readyState === WebSocket.OPEN;
    },
  };

  const bindTimer = clock.setTimeout(() => {
    if (sid === null) l.shut(CLOSE_NOT_BOUND, `no accepted announce within ${limits.bindTimeoutMs} ms`);
  }, limits.bindTimeoutMs);

  const fail = (err: unknown, id?: string): void => {
    const at = id ? { id } : {};
    if (isClientError(err)) {
      channel.send({ type: 'error', ...at, code: err.code, message: err.message });
    } else if (isUnavailable(err)) {
      // Not a refusal: the client tries again (or another tracker) rather than ending its session.
      logger.error({ err }, 'tracker channel: swarm store unreachable');
      channel.send({ type: 'error', ...at, code: UNAVAILABLE, message: STORE_UNAVAILABLE });
    } else {
      logger.error({ err }, 'tracker channel: request failed');
      channel.send({ type: 'error', ...at, code: 'internal', message: 'internal tracker error' });
    }
  };

  /** A heartbeat's report, or null; one we cannot take is ignored (and said so): the heartbeat still counts. */
  const takeQoe = (raw: unknown): Qoe | null => {
    if (raw === undefined) return null;
    const q = parseQoe(raw);
    if ('qoe' in q) return q.qoe;
    channel.send({ type: 'error', code: 'invalid_request', message: `heartbeat qoe ignored (${q.error})` });
    return null;
  };

  const announce = async (msg: Extract<ClientToTracker, { type: 'announce' }>): Promise<void> => {
    const ctx: AnnounceContext = {
      req: {
        infoHash: msg.info_hash,
        peerId: msg.peer_id,
        port: msg.port,
        uploaded: msg.uploaded ?? 0,
        downloaded: msg.downloaded ?? 0,
        left: null,
        event: null,
        compact: false,
        noPeerId: false,
        numwant: msg.numwant ?? null,
        token: msg.token,
      },
      ip,
      transport: 'ws',
      channel,
      channelSid: sid,
      proof: { nonce, sig: msg.proof ?? null, memo: proofMemo },
    };
    try {
      const out = await logic.announce(ctx);
      sid = out.claims.sid;
    } catch (err) {
      // A kicked session coming back (after a tracker restart, say) proved its key: it hears its disconnect again.
      const kick = isClientError(err) && err.code === 'token_revoked' && ctx.proven ? logic.kickOf(ctx.proven.sid) : null;
      if (kick) channel.send({ type: 'disconnect', id: kick.ref, reason: kick.reason });
      throw err;
    } finally {
      // A proof that checked out counts even when the announce is refused: a revoked session,
      // refused, still answers its disconnect with `stopped` by ref on this channel.
      if (ctx.proven) proven = ctx.proven.sid;
    }
    const out = ctx.response;
    if (!out) return;
    channel.send({
      type: 'peers',
      id: msg.id,
      interval_s: out.interval,
      heartbeat_s: deps.heartbeatS(),
      complete: out.complete,
      incomplete: out.incomplete,
      peers: out.peers.map((p) => {
        const key = logic.clientKeyOf(p.sid);
        return { sid: p.sid, peer_id: p.peerId, ip: p.ip, port: p.port, role: p.role, ...(key ? { key } : {}) };
      }),
      ...(out.revoked.length > 0 ? { revoked: out.revoked } : {}),
    });
  };

  const handle = async (msg: ClientToTracker): Promise<void> => {
    switch (msg.type) {
      case 'announce':
        return announce(msg);
      case 'heartbeat':
        if (sid === null) {
          channel.send({ type: 'error', code: 'invalid_request', message: 'heartbeat before any accepted announce on this channel' });
          return;
        }
        await logic.heartbeat(sid, msg.token ?? null, takeQoe(msg.qoe));
        return;
      case 'stopped':
        if (sid === null && proven === null) throw new ClientError('proof_invalid', "this channel has proved no session's key: announce with a proof first");
        await logic.stopped(sid, msg.ref ?? null, proven);
        channel.send({ type: 'ack', id: msg.id });
        return;
      case 'ack':
        // Pushes go only to bound channels: an unproven channel has nothing to ack.
        if (sid !== null) logic.pushAcked(channel, msg.id);
        return;
    }
  };

  const onFrame = async (data: RawData): Promise<void> => {
    let msg: ClientToTracker;
    try {
      msg = clientToTracker.parse(data);
    } catch (err) {
      const message = err instanceof ProtocolError ? err.message : 'tracker channel: unreadable frame';
      channel.send({ type: 'error', code: 'invalid_request', message });
      if (++badFrames >= maxBad) ws.close(1008, 'too many malformed frames');
      return;
    }
    if (faults?.drop('tracker-channel', 'receive', msg.type)) return;
    try {
      await handle(msg);
    } catch (err) {
      fail(err, 'id' in msg ? msg.id : undefined);
    }
  };

  // A client that sends faster than its frames are handled is not read from meanwhile (TCP pushes back on it),
  // so the frames waiting here stay bounded.
  let pending = 0;
  ws.on('message', (data) => {
    if (++pending >= limits.maxPendingFrames && !ws.isPaused) ws.pause();
    queue = queue.then(() => onFrame(data)).finally(() => {
      if (--pending <= limits.maxPendingFrames / 2 && ws.isPaused) ws.resume();
    });
  });
  ws.on('error', (err) => logger.debug({ err }, 'tracker channel: socket error'));
  ws.on('close', () => {
    bindTimer.cancel();
    killer?.cancel();
    if (sid !== null) logic.channelClosed(sid, channel);
  });
  // Part of opening the channel, like the upgrade: never subject to the test faults.
  ws.send(trackerToClient.encode({ type: 'welcome', nonce }));
  return l;
}
