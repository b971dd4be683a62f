/**
 * The WebSocket front end at /ws (gatecast's tracker channel): parses frames,
 * calls the same logic as HTTP, writes replies. A channel binds to the session
 * of its first accepted announce. A bad frame gets a specific error and the
 * channel stays open, up to a limit of bad frames; closing without `stopped`
 * leaves the peer in the swarm until its heartbeat timeout.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { isClientError, ProtocolError } from '../core/errors.js';
import type { MessageFaults } from '../core/faults.js';
import { MAX_JSON_FRAME } from '../protocol/json-messages.js';
import { clientToTracker, trackerToClient, type ClientToTracker, type TrackerToClient } from '../protocol/tracker-channel.js';
import { remoteIp } from './http-frontend.js';
import type { TrackerLogic } from './tracker-logic.js';
import type { ChannelHandle } from './types.js';

export const CHANNEL_PATH = '/ws';
export const MAX_BAD_FRAMES = 20;

export interface ChannelServer {
  close(): Promise<void>;
}

export interface ChannelDeps {
  logic: TrackerLogic;
  heartbeatS: () => number;
  logger: Logger;
  maxBadFrames?: number;
  /** Tests lose channel messages on purpose (both directions); production passes nothing. */
  faults?: MessageFaults;
}

const KEEPALIVE_MS = 15_000;
/** Channels bound to a session by an accepted announce (or answering a disconnect). */
const bound = new WeakSet<WebSocket>();

export function attachChannelServer(server: Server, deps: ChannelDeps): ChannelServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_JSON_FRAME });
  const maxBad = deps.maxBadFrames ?? MAX_BAD_FRAMES;

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== CHANNEL_PATH) {
      // A peer resetting the refused socket must not become an uncaught error.
      socket.on('error', () => socket.destroy());
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nthe tracker channel is at /ws\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveChannel(ws, remoteIp(req), deps, maxBad));
  };
  server.on('upgrade', onUpgrade);

  // Dead TCP connections and channels that never announce must not pile up:
  // every KEEPALIVE_MS each channel is pinged, and one that did not answer the
  // last ping, or is still not bound to a session, is dropped.
  const alive = new WeakMap<WebSocket, { pong: boolean; checks: number }>();
  wss.on('connection', (ws) => {
    alive.set(ws, { pong: true, checks: 0 });
    ws.on('pong', () => {
      const a = alive.get(ws);
      if (a) a.pong = true;
    });
  });
  const keepalive = setInterval(() => {
    for (const ws of wss.clients) {
      const a = alive.get(ws);
      if (!a) continue;
      a.checks++;
      if (!a.pong || (a.checks >= 2 && !bound.has(ws))) {
        ws.terminate();
        continue;
      }
      a.pong = false;
      ws.ping();
    }
  }, KEEPALIVE_MS);
  keepalive.unref();

  return {
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(keepalive);
        server.off('upgrade', onUpgrade);
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}

function serveChannel(ws: WebSocket, ip: string, deps: ChannelDeps, maxBad: number): void {
  const { logic, logger, faults } = deps;
  let sid: string | null = null;
  let badFrames = 0;
  // Frames are handled one at a time so an announce binds the channel before the next frame runs.
  let queue: Promise<void> = Promise.resolve();

  const channel: ChannelHandle = {
    send(msg: TrackerToClient) {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (faults?.drop('tracker-channel', 'send', msg.type)) return;
      ws.send(trackerToClient.encode(msg));
    },
    get open() {
      return ws.readyState === WebSocket.OPEN;
    },
  };

  const fail = (err: unknown, id?: string): void => {
    const at = id ? { id } : {};
    if (isClientError(err)) {
      channel.send({ type: 'error', ...at, code: err.code, message: err.message });
    } else {
      logger.error({ err }, 'tracker channel: request failed');
      channel.send({ type: 'error', ...at, code: 'internal', message: 'internal tracker error' });
    }
  };

  const handle = async (msg: ClientToTracker): Promise<void> => {
    switch (msg.type) {
      case 'announce': {
        const out = await logic.announce({
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
        });
        sid = out.claims.sid;
        bound.add(ws);
        channel.send({
          type: 'peers',
          id: msg.id,
          interval_s: out.interval,
          heartbeat_s: deps.heartbeatS(),
          complete: out.complete,
          incomplete: out.incomplete,
          peers: out.peers.map((p) => ({ sid: p.sid, peer_id: p.peerId, ip: p.ip, port: p.port, role: p.role })),
        });
        return;
      }
      case 'heartbeat':
        if (sid === null) {
          channel.send({ type: 'error', code: 'invalid_request', message: 'heartbeat before any accepted announce on this channel' });
          return;
        }
        await logic.heartbeat(sid, msg.token ?? null);
        return;
      case 'stopped':
        await logic.stopped(sid, msg.ref ?? null);
        channel.send({ type: 'ack', id: msg.id });
        return;
      case 'ack':
        logic.pushAcked(channel, msg.id);
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

  ws.on('message', (data) => {
    queue = queue.then(() => onFrame(data));
  });
  ws.on('error', (err) => logger.debug({ err }, 'tracker channel: socket error'));
  ws.on('close', () => {
    if (sid !== null) logic.channelClosed(sid, channel);
  });
}
