/**
 * The local playback URL that VLC, mpv, ffplay and ffmpeg open, and at its
 * root the player page (player-page.ts, src/web/player/) with its live status
 * (status-events.ts). A listener may connect at any time: it starts at the
 * latest random access point (RAP) kept in a small replay cache, so the
 * decoder starts cleanly, then follows live output. A listener that stops
 * reading is dropped once its queue passes a cap, so a stuck player never
 * grows our memory.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { WebServerFactory } from '../core/ports.js';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../protocol/system-clock.js';
import type { PlaybackSink } from './playback-sinks.js';
import { COMMON_HEADERS, PAGE_HEADERS, loadPlayerAssets } from './player-page.js';
import { playerStatus, type PlaybackEnd } from './player-status.js';
import { StatusEvents } from './status-events.js';
import type { ViewerStats } from './viewer-types.js';

export interface PlaybackServerOptions {
  port?: number;
  host?: string;
  title?: string;
  /** What GET /status.json returns (with `end` added once the session ended). */
  status?: () => object;
  /** The viewer's stats for the player page's status events (null: not admitted yet). */
  viewerStats?: () => ViewerStats | null;
  /** Timers of the status events (default: the system clock). */
  clock?: Clock;
  /** Longest wait in end() for open player pages to take the end event (default 2 s). */
  endLingerMs?: number;
  /** Bytes queued for one listener past which it is dropped (default 4 MiB, about 16 s at 2 Mbit/s). */
  maxListenerQueueBytes?: number;
  /** Upper bound of the replay cache when RAPs are rare (default 2 MiB, never above half the listener cap). */
  maxCacheBytes?: number;
  /** Makes the HTTP server, with its header/request/keep-alive deadlines (cli/web-server.ts). */
  webServer: WebServerFactory;
}

export interface PlaybackServerStats {
  listeners: number;
  /** Listeners dropped for not keeping up. */
  dropped: number;
  cachedBytes: number;
}

export interface PlaybackServer extends PlaybackSink {
  /** Resolves to the base URL, e.g. http://127.0.0.1:8090/ (the stream is at stream.ts under it). */
  listen(): Promise<string>;
  readonly url: string | null;
  stats(): PlaybackServerStats;
  /** Called when a listener is dropped for being too slow. */
  onDrop: ((stats: PlaybackServerStats) => void) | null;
  /**
   * The session is over: status.json and the player pages say why, streams
   * end. Resolves once every open page has the reason (at once with none
   * open, never later than endLingerMs); the server still answers until close().
   */
  end(end: PlaybackEnd): Promise<void>;
}

interface Segment {
  bytes: Buffer;
  rapOffset: number | null;
}

interface Listener {
  res: ServerResponse;
  /** No RAP was cached when it joined: it starts at the next one written. */
  waitingForRap: boolean;
}

export function createPlaybackServer(opts: PlaybackServerOptions): PlaybackServer {
  const host = opts.host ?? '127.0.0.1';
  const title = opts.title ?? 'gatecast';
  const maxQueue = opts.maxListenerQueueBytes ?? 4 * 1024 * 1024;
  // A joiner gets the whole cache at once, which must not count as falling behind.
  const maxCache = Math.min(opts.maxCacheBytes ?? 2 * 1024 * 1024, maxQueue / 2);
  /** From the latest segment holding a RAP to now: all a new listener needs. */
  let cache: Segment[] = [];
  let cachedBytes = 0;
  const listeners = new Set<Listener>();
  let dropped = 0;
  let baseUrl: string | null = null;
  let closed = false;
  let ended: PlaybackEnd | null = null;
  const assets = loadPlayerAssets();
  const events = new StatusEvents({
    clock: opts.clock ?? systemClock,
    lingerMs: opts.endLingerMs,
    status: () => playerStatus(opts.viewerStats?.() ?? null, ended),
  });

  const stats = (): PlaybackServerStats => ({ listeners: listeners.size, dropped, cachedBytes });

  const send = (l: Listener, bytes: Buffer): void => {
    if (l.res.destroyed) return;
    l.res.write(bytes);
    if (l.res.writableLength > maxQueue) {
      listeners.delete(l);
      dropped++;
      l.res.destroy();
      server.onDrop?.(stats());
    }
  };

  const addToCache = (seg: Segment): void => {
    if (seg.rapOffset !== null) {
      cache = [];
      cachedBytes = 0;
    }
    if (cache.length === 0 && seg.rapOffset === null) return;
    cache.push(seg);
    cachedBytes += seg.bytes.length;
    if (cachedBytes > maxCache) {
      // RAPs are this rare: new listeners wait for the next one instead.
      cache = [];
      cachedBytes = 0;
    }
  };

  const streamRoute = (req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'video/mp2t', 'Cache-Control': 'no-store' });
    res.socket?.setNoDelay(true);
    if (req.method === 'HEAD' || ended) {
      res.end();
      return;
    }
    res.flushHeaders();
    const l: Listener = { res, waitingForRap: cache.length === 0 };
    listeners.add(l);
    res.on('close', () => listeners.delete(l));
    cache.forEach((seg, i) => send(l, i === 0 && seg.rapOffset !== null ? seg.bytes.subarray(seg.rapOffset) : seg.bytes));
  };

  const statusRoute = (res: ServerResponse): void => {
    let body: string;
    try {
      const status = opts.status?.() ?? {};
      body = JSON.stringify(ended ? { ...status, end: ended } : status);
    } catch {
      res.writeHead(500, { ...COMMON_HEADERS, 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'internal', message: 'status unavailable' } }));
      return;
    }
    res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(body);
  };

  const pageRoute = (req: IncomingMessage, res: ServerResponse, path: string): void => {
    if (path === '/') {
      // The Host was checked: it is one of our own names, so the commands name the URL the viewer typed.
      const streamUrl = `${opts.webServer.scheme}://${req.headers.host ?? ''}/stream.ts`;
      res.writeHead(200, { ...PAGE_HEADERS, 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : assets.page(title, streamUrl));
      return;
    }
    const file = assets.file(path);
    if (!file) {
      res.writeHead(404, { ...COMMON_HEADERS, 'Content-Type': 'text/plain' });
      res.end('not found: try /, /stream.ts, /status.json or /events\n');
      return;
    }
    res.writeHead(200, { ...PAGE_HEADERS, 'Content-Type': file.type, 'Cache-Control': 'no-cache', 'Content-Length': String(file.body.length) });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  };

  const http = opts.webServer.create((req, res) => {
    if (!hostAllowed(req.headers.host)) {
      res.writeHead(421, { ...COMMON_HEADERS, 'Content-Type': 'text/plain', Connection: 'close' });
      res.end(`misdirected request: this playback server answers only to Host ${[...allowedHosts].join(', ')}\n`);
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...COMMON_HEADERS, Allow: 'GET, HEAD', 'Content-Type': 'text/plain' });
      res.end('method not allowed\n');
      return;
    }
    if (path === '/stream.ts') return streamRoute(req, res);
    if (path === '/status.json') return statusRoute(res);
    if (path === '/events') {
      if (req.method === 'HEAD') {
        res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store' });
        res.end();
        return;
      }
      return events.add(res, COMMON_HEADERS);
    }
    pageRoute(req, res, path ?? '/');
  });

  // DNS rebinding: a web page whose name resolves to us would send its own name as Host. Only our address and
  // localhost, with our port, are ours.
  const allowedHosts = new Set<string>();
  const hostAllowed = (h: string | undefined): boolean => h !== undefined && allowedHosts.has(h.toLowerCase());

  const server: PlaybackServer = {
    onDrop: null,
    get url() {
      return baseUrl;
    },
    stats,
    async end(end) {
      if (ended) return;
      ended = end;
      // Pages first (their player then stops on purpose), then the streams end: players see their end of file.
      const told = events.finish(end);
      for (const l of listeners) l.res.end();
      listeners.clear();
      await told;
    },
    listen() {
      return new Promise<string>((resolve, reject) => {
        http.once('error', reject);
        http.listen(opts.port ?? 0, host, () => {
          http.off('error', reject);
          // After start, a server error (EMFILE) is not worth a viewer's life.
          http.on('error', () => undefined);
          const { port } = http.address() as AddressInfo;
          baseUrl = `${opts.webServer.scheme}://${host.includes(':') ? `[${host}]` : host}:${port}/`;
          for (const name of ownNames(host)) allowedHosts.add(`${name}:${port}`);
          resolve(baseUrl);
        });
      });
    },
    writeSegment(bytes, rapOffset) {
      if (closed) return;
      if (rapOffset !== null && (!Number.isInteger(rapOffset) || rapOffset < 0 || rapOffset >= bytes.length)) {
        throw new RangeError(`rapOffset ${rapOffset} is outside a segment of ${bytes.length} bytes`);
      }
      addToCache({ bytes, rapOffset });
      for (const l of [...listeners]) {
        if (l.waitingForRap) {
          if (rapOffset === null) continue;
          l.waitingForRap = false;
          send(l, bytes.subarray(rapOffset));
        } else {
          send(l, bytes);
        }
      }
    },
    async close() {
      closed = true;
      events.close();
      for (const l of listeners) l.res.end();
      listeners.clear();
      cache = [];
      cachedBytes = 0;
      if (!http.listening) return;
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
  return server;
}

/** The names a Host header may carry for a server bound to `host`: it, localhost, and for a wildcard bind every local address. */
function ownNames(host: string): string[] {
  const wrap = (a: string): string => (a.includes(':') ? `[${a}]` : a).toLowerCase();
  const names = ['localhost', wrap(host)];
  if (host === '0.0.0.0' || host === '::') {
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.push(wrap(a.address));
  }
  return names;
}
