/**
 * The one way our HTTP servers are made: plain HTTP, or HTTPS only when a
 * certificate is given, always with header, request and keep-alive deadlines
 * (a client that trickles its headers, or never finishes, is cut off).
 */
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { DEFAULTS } from './config.js';

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

export function createWebServer(handler: RequestListener, opts: { tls?: TlsIdentity | null; limits?: Partial<HttpLimits> } = {}): Server {
  const l = { ...DEFAULT_HTTP_LIMITS, ...opts.limits };
  const options = {
    headersTimeout: l.headersTimeoutMs,
    // Node wants the request deadline no shorter than the headers one.
    requestTimeout: Math.max(l.requestTimeoutMs, l.headersTimeoutMs),
    keepAliveTimeout: l.keepAliveTimeoutMs,
    connectionsCheckingInterval: l.checkIntervalMs,
  };
  // An https.Server is an http.Server to everything that listens, routes or upgrades.
  const server: Server = opts.tls ? createHttpsServer({ ...options, cert: opts.tls.cert, key: opts.tls.key }, handler) : createHttpServer(options, handler);
  server.keepAliveTimeout = l.keepAliveTimeoutMs;
  return server;
}

/** The URL scheme a server made with these options speaks. */
export const schemeOf = (tls: TlsIdentity | null | undefined): 'https' | 'http' => (tls ? 'https' : 'http');
