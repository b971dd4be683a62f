/** Shared set-up for control server tests: a server on a memory store, a fake tracker over a real WebSocket. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import WebSocket from 'ws';
import { ManualClock } from '../../src/core/clock.js';
import { DEFAULTS } from '../../src/core/config.js';
import type { MessageFaults } from '../../src/core/faults.js';
import { rawPublicKey } from '../../src/core/piece.js';
import type { ControlStore } from '../../src/core/ports.js';
import { createControlServer, type ControlServer, type ControlServerOptions } from '../../src/control/index.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import { controlToTracker, type ControlToTracker, type TrackerToControl } from '../../src/protocol/control-link.js';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';

export const ADMIN_PASSWORD = 'admin-secret';
export const TRACKER_SECRET = 'tracker-secret';

export interface Harness {
  server: ControlServer;
  store: ControlStore;
  clock: ManualClock;
  close(): Promise<void>;
}

export interface ServerOptions {
  store?: ControlStore;
  clock?: ManualClock;
  tokenTtlS?: number;
  linkKeepaliveMs?: number | null;
  disconnectRetryMs?: number;
  expiryCheckMs?: number | null;
  faults?: MessageFaults;
  /** The shared tracker secret (default TRACKER_SECRET); null: off, trackers' own credentials only. */
  trackerSecret?: string | null;
  /** Re-check period of linked trackers' credentials (default: the server's). */
  credentialCheckMs?: number | null;
  /** fastify's logger option (tests that read the log). */
  logger?: ControlServerOptions['logger'];
}

export async function startServer(opts: ServerOptions = {}): Promise<Harness> {
  const store = opts.store ?? new SqliteControlStore(':memory:');
  const clock = opts.clock ?? new ManualClock(Date.now());
  const server = await createControlServer({
    store,
    clock,
    adminPassword: ADMIN_PASSWORD,
    trackerSecret: opts.trackerSecret === undefined ? TRACKER_SECRET : opts.trackerSecret,
    credentialCheckMs: opts.credentialCheckMs,
    logger: opts.logger,
    tokenTtlS: opts.tokenTtlS,
    // Virtual time jumps ahead in tests without the fake tracker getting a turn to answer pings.
    linkKeepaliveMs: opts.linkKeepaliveMs === undefined ? null : opts.linkKeepaliveMs,
    disconnectRetryMs: opts.disconnectRetryMs,
    expiryCheckMs: opts.expiryCheckMs,
    faults: opts.faults,
    webServer: webServerFactory(),
  });
  return {
    server,
    store,
    clock,
    async close() {
      await server.close();
      await store.close();
    },
  };
}

export const adminAuth = (password = ADMIN_PASSWORD, user = 'admin'): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export async function admin(h: Harness, method: Method, url: string, payload?: unknown) {
  const res = await h.server.app.inject({ method, url, payload: payload as object | undefined, headers: { authorization: adminAuth() } });
  return { status: res.statusCode, body: res.body.length ? (res.json() as Record<string, unknown>) : undefined, res };
}

export function newClientKey(): { key: KeyObject; publicKey: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { key: privateKey, publicKey: rawPublicKey(privateKey) };
}

/** A program's source public key (raw Ed25519, base64url): the private half stays on the broadcaster's side, as `programs add` keeps it. */
export function newSourceKey(): string {
  return newClientKey().publicKey;
}

/** A user `alice` (password `pw-alice`) subscribed to program `news`. */
export async function seed(h: Harness, until?: string | null): Promise<void> {
  await admin(h, 'POST', '/v1/admin/users', { name: 'alice', password: 'pw-alice' });
  await admin(h, 'POST', '/v1/admin/programs', { id: 'news', title: 'News', bitrate_bps: 1_000_000, length_s: 3600, source_key: newSourceKey() });
  await admin(h, 'PUT', '/v1/admin/subscriptions', { user: 'alice', program: 'news', until: until ?? null });
}

/** A tracker's end of the control link, with a queue of what the control server sent. */
export class FakeTracker {
  private readonly inbox: ControlToTracker[] = [];
  private waiting: Array<(m: ControlToTracker) => void> = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = controlToTracker.parse(data);
      const w = this.waiting.shift();
      if (w) w(msg);
      else this.inbox.push(msg);
    });
  }

  static async connect(baseUrl: string, secret = TRACKER_SECRET): Promise<FakeTracker> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${DEFAULTS.controlLinkPath}`, { headers: { authorization: `Bearer ${secret}` } });
    await once(ws, 'open');
    return new FakeTracker(ws);
  }

  send(msg: TrackerToControl | string): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  next(): Promise<ControlToTracker> {
    const m = this.inbox.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async hello(id = 'tracker-1', sessions: string[] = []): Promise<ControlToTracker> {
    this.send({ type: 'hello', tracker_id: id, announce_url: 'http://127.0.0.1:6969/announce', ws_url: 'ws://127.0.0.1:6969/ws', sessions });
    return this.next();
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = once(this.ws, 'close');
    this.ws.close();
    await closed;
  }
}

/** A listening server with one tracker connected and `seed` applied. */
export async function startWithTracker(opts: Parameters<typeof startServer>[0] = {}): Promise<Harness & { url: string; tracker: FakeTracker }> {
  const h = await startServer(opts);
  const url = await h.server.listen(0);
  await seed(h);
  const tracker = await FakeTracker.connect(url);
  await tracker.hello();
  return {
    ...h,
    url,
    tracker,
    async close() {
      await tracker.close();
      await h.close();
    },
  };
}
