/**
 * The one way our HTTP servers are made: plain HTTP, or HTTPS only when a
 * certificate is given, always with header, request and keep-alive deadlines
 * (a client that trickles its headers, or never finishes, is cut off). The
 * composition root builds a factory here and hands it to the control server,
 * the tracker and the playback server (core/ports.ts WebServerFactory).
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { DEFAULTS } from '../core/config.js';
import type { WebServerFactory } from '../core/ports.js';

export interface HttpLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** How often the deadlines are checked. */
  checkIntervalMs: number;
}

/** PEM certificate chain and private key: the server then speaks HTTPS (and WSS) only. */
export interface TlsIdentity {
  cert: string | Buffer;
  key: string | Buffer;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: DEFAULTS.httpHeadersTimeoutMs,
  requestTimeoutMs: DEFAULTS.httpRequestTimeoutMs,
  keepAliveTimeoutMs: DEFAULTS.httpKeepAliveTimeoutMs,
  checkIntervalMs: DEFAULTS.httpTimeoutCheckMs,
};

/** Servers with these deadlines (DEFAULTS.http* unless given), speaking HTTPS when `tls` is given. */
export function webServerFactory(opts: { tls?: TlsIdentity | null; limits?: Partial<HttpLimits> } = {}): WebServerFactory {
  const l = { ...DEFAULT_HTTP_LIMITS, ...opts.limits };
  const options = {
    headersTimeout: l.headersTimeoutMs,
    // Node wants the request deadline no shorter than the headers one.
    requestTimeout: Math.max(l.requestTimeoutMs, l.headersTimeoutMs),
    keepAliveTimeout: l.keepAliveTimeoutMs,
    connectionsCheckingInterval: l.checkIntervalMs,
  };
  const tls = opts.tls ?? null;
  return {
    scheme: tls ? 'https' : 'http',
    create(handler) {
      // An https.Server is an http.Server to everything that listens, routes or upgrades.
      const server: Server = tls ? createHttpsServer({ ...options, cert: tls.cert, key: tls.key }, handler) : createHttpServer(options, handler);
      server.keepAliveTimeout = l.keepAliveTimeoutMs;
      return server;
    },
  };
}
