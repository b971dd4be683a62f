/**
 * Test rig for the tracker: a fake control server speaking the control link
 * protocol (welcome, acks, disconnects; records everything), token minting,
 * raw HTTP announces and a WebSocket channel client that queues replies.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { ManualClock } from '../../src/core/clock.js';
import { DEFAULTS } from '../../src/core/config.js';
import type { MessageFaults } from '../../src/core/faults.js';
import { rawPublicKey } from '../../src/core/piece.js';
import type { TokenRole } from '../../src/core/token.js';
import { decodeBencode } from '../../src/protocol/announce.js';
import { controlToTracker, trackerToControl, type ControlToTracker, type TrackerToControl } from '../../src/protocol/control-link.js';
import { signAccessToken } from '../../src/protocol/token.js';
import { channelProofMessage } from '../../src/protocol/tracker-channel.js';
import { MemorySwarmStore } from '../../src/store/memory-swarm-store.js';
import { createTracker, type Tracker } from '../../src/tracker/create-tracker.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import type { ChannelLimits } from '../../src/tracker/ws-frontend.js';

export const SECRET = 'tracker-secret-for-tests';

/** Resolves when `pick` finds a match among past and future items. */
export class Recorder<T> {
  readonly items: T[] = [];
  private waiters: Array<{ pick: (t: T) => boolean; resolve: (t: T) => void }> = [];
  push(item: T): void {
    this.items.push(item);
    for (const w of [...this.waiters]) {
      if (w.pick(item)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(item);
      }
    }
  }
  /** The first item (from index `from` on) matching `pick`. */
  waitFor(pick: (t: T) => boolean, from = 0): Promise<T> {
    const found = this.items.slice(from).find(pick);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ pick, resolve }));
  }
}

export interface FakeControl {
  url: string;
  controlKey: string;
  privateKey: KeyObject;
  received: Recorder<TrackerToControl>;
  authHeaders: Array<string | undefined>;
  /** Ids whose first copy is not acked. */
  dropFirstAck: boolean;
  /** When false, hello gets no welcome. */
  welcome: boolean;
  /** Sent in the welcome's `revoked` field when set. */
  welcomeRevoked: string[] | null;
  /** The welcome says the control server takes `qoe` frames (as gatecast's does); false: an older one. */
  welcomeQoe: boolean;
  send(msg: ControlToTracker): void;
  /** Cuts the current link from the control side. */
  kick(): void;
  /** A ping round trip: once the pong is back, the tracker has handled everything sent before. */
  flush(): Promise<void>;
  connections: number;
  /** Resolves with the count each time a link from the tracker closes. */
  linksClosed: Recorder<number>;
  close(): Promise<void>;
}

export async function startFakeControl(opts: { welcome?: boolean; dropFirstAck?: boolean } = {}): Promise<FakeControl> {
  const { privateKey } = generateKeyPairSync('ed25519');
  const http: Server = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true });
  const seen = new Set<string>();
  let current: WebSocket | null = null;
  const fake: FakeControl = {
    url: '',
    // From the private key: on Node 20 createPublicKey() refuses a public KeyObject.
    controlKey: rawPublicKey(privateKey),
    privateKey,
    received: new Recorder(),
    authHeaders: [],
    dropFirstAck: opts.dropFirstAck ?? false,
    welcome: opts.welcome ?? true,
    welcomeRevoked: null,
    welcomeQoe: true,
    connections: 0,
    linksClosed: new Recorder(),
    send(msg) {
      current?.send(controlToTracker.encode(msg));
    },
    kick() {
      current?.terminate();
    },
    flush: () =>
      new Promise<void>((resolve) => {
        if (!current) return resolve();
        current.once('pong', () => resolve());
        current.ping();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
  http.on('upgrade', (req: IncomingMessage, socket, head) => {
    fake.authHeaders.push(req.headers.authorization);
    socket.on('error', () => socket.destroy());
    if (req.url !== DEFAULTS.controlLinkPath || req.headers.authorization !== `Bearer ${SECRET}`) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      current = ws;
      fake.connections++;
      ws.on('close', () => fake.linksClosed.push(fake.linksClosed.items.length + 1));
      ws.on('message', (data) => {
        const msg = trackerToControl.parse(data);
        fake.received.push(msg);
        if (msg.type === 'hello' && fake.welcome) {
          const revoked = fake.welcomeRevoked ? { revoked: fake.welcomeRevoked } : {};
          ws.send(controlToTracker.encode({ type: 'welcome', control_key: fake.controlKey, ...revoked, ...(fake.welcomeQoe ? { qoe: true } : {}) }));
        }
        if (msg.type === 'join' || msg.type === 'leave') {
          if (fake.dropFirstAck && !seen.has(msg.id)) {
            seen.add(msg.id);
            return;
          }
          ws.send(controlToTracker.encode({ type: 'ack', id: msg.id }));
        }
      });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return fake;
}

/**
 * Runs virtual time forward in small steps, yielding to real I/O between
 * steps, until `done` settles: for waits whose start the test cannot observe
 * (a redial scheduled when the tracker notices a dropped link).
 */
export async function advanceUntil<T>(clock: ManualClock, done: Promise<T>, stepMs = 50, maxSteps = 2_000): Promise<T> {
  let settled = false;
  const watched = done.finally(() => {
    settled = true;
  });
  for (let i = 0; i < maxSteps && !settled; i++) {
    clock.advance(stepMs);
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (!settled) throw new Error(`advanceUntil: nothing happened in ${stepMs * maxSteps} ms of virtual time`);
  return watched;
}

export function infoHashOf(program: string): Buffer {
  return createHash('sha1').update(`gatecast-live:${program}:source-key-of-${program}`).digest();
}

export function peerIdOf(n: number): Buffer {
  return Buffer.from(`-GC0001-${String(n).padStart(12, '0')}`);
}

const clientKeys = new Map<string, KeyObject>();

/** The client key (private) of session `sid`: the one its minted tokens name. */
export function keyOf(sid: string): KeyObject {
  let key = clientKeys.get(sid);
  if (!key) {
    key = generateKeyPairSync('ed25519').privateKey;
    clientKeys.set(sid, key);
  }
  return key;
}

/** The channel proof an honest client sends with an announce. */
export function proofFor(key: KeyObject, nonce: string, a: { sid: string; info_hash: string; peer_id: string; port: number }): string {
  const msg = channelProofMessage({ nonce, sid: a.sid, infoHash: a.info_hash, peerId: a.peer_id, port: a.port });
  return sign(null, msg, key).toString('base64url');
}

/** The sid a token names, read without verifying (what any holder of the token can read). */
export function sidOfToken(token: string): string | null {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sid?: unknown };
    return typeof payload.sid === 'string' ? payload.sid : null;
  } catch {
    return null;
  }
}

export async function mintToken(
  control: { privateKey: KeyObject },
  clock: ManualClock,
  c: { sid: string; prg: string; role?: TokenRole; sub?: string; ttlS?: number },
): Promise<string> {
  const { token } = await signAccessToken(
    control.privateKey,
    { sub: c.sub ?? `user-${c.sid}`, sid: c.sid, prg: c.prg, role: c.role ?? 'viewer', ckey: rawPublicKey(keyOf(c.sid)) },
    clock.now(),
    c.ttlS ?? 300,
  );
  return token;
}

/** Percent-encodes every byte, as stock clients do for binary fields. */
export function pct(bytes: Buffer): string {
  return [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
}

export function announceQuery(p: {
  infoHash: Buffer;
  peerId: Buffer;
  port: number;
  token?: string;
  extra?: string;
}): string {
  const parts = [`info_hash=${pct(p.infoHash)}`, `peer_id=${pct(p.peerId)}`, `port=${p.port}`, 'uploaded=0', 'downloaded=0', 'left=0'];
  if (p.token !== undefined) parts.push(`token=${encodeURIComponent(p.token)}`);
  if (p.extra) parts.push(p.extra);
  return parts.join('&');
}

export function httpGet(url: string): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

export type Bdict = Record<string, unknown>;

export async function announceHttp(announceUrl: string, query: string): Promise<Bdict> {
  const res = await httpGet(`${announceUrl}?${query}`);
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.toString()}`);
  return decodeBencode(res.body) as Bdict;
}

export function failureOf(dict: Bdict): string | undefined {
  const r = dict['failure reason'];
  return r instanceof Uint8Array ? Buffer.from(r).toString('utf8') : undefined;
}

/** BEP 23 compact peers → "ip:port". */
export function compactToList(peers: unknown): string[] {
  if (!(peers instanceof Uint8Array)) throw new Error('peers is not a byte string');
  const b = Buffer.from(peers);
  const out: string[] = [];
  for (let i = 0; i + 6 <= b.length; i += 6) out.push(`${b[i]}.${b[i + 1]}.${b[i + 2]}.${b[i + 3]}:${b.readUInt16BE(i + 4)}`);
  return out;
}

export interface ChannelClient {
  ws: WebSocket;
  /** The challenge of this channel's welcome. */
  nonce: string;
  messages: Recorder<Record<string, unknown>>;
  send(msg: unknown): void;
  /** The next message not yet taken. */
  next(): Promise<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

/**
 * Opens a channel and takes its welcome. `send` signs an announce that has no
 * `proof` field with the key of the session its token names (an honest
 * client); `{ sign: false }` sends announces as given (an attacker without
 * the key).
 */
export async function openChannel(wsUrl: string, opts: { sign?: boolean } = {}): Promise<ChannelClient> {
  const ws = new WebSocket(wsUrl);
  const messages = new Recorder<Record<string, unknown>>();
  let taken = 1;
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const welcome = await messages.waitFor(() => true);
  if (welcome['type'] !== 'welcome' || typeof welcome['nonce'] !== 'string') throw new Error(`first frame is not a welcome: ${JSON.stringify(welcome)}`);
  const nonce = welcome['nonce'];
  const withProof = (msg: Record<string, unknown>): Record<string, unknown> => {
    if (opts.sign === false || msg['type'] !== 'announce' || 'proof' in msg || typeof msg['token'] !== 'string') return msg;
    const sid = sidOfToken(msg['token']);
    if (sid === null) return msg;
    const a = { sid, info_hash: String(msg['info_hash']), peer_id: String(msg['peer_id']), port: Number(msg['port']) };
    return { ...msg, proof: proofFor(keyOf(sid), nonce, a) };
  };
  return {
    ws,
    nonce,
    messages,
    send: (msg) => ws.send(typeof msg === 'string' ? msg : JSON.stringify(typeof msg === 'object' && msg !== null ? withProof(msg as Record<string, unknown>) : msg)),
    next: async () => {
      const i = taken++;
      return messages.waitFor((m) => messages.items.indexOf(m) === i, i);
    },
    closed,
    close: async () => {
      if (ws.readyState !== WebSocket.CLOSED) {
        ws.close();
        await closed;
      }
    },
  };
}

export interface Rig {
  clock: ManualClock;
  control: FakeControl;
  tracker: Tracker;
  store: MemorySwarmStore;
  announceUrl: string;
  wsUrl: string;
  base: string;
  token(c: { sid: string; prg: string; role?: TokenRole; ttlS?: number }): Promise<string>;
  close(): Promise<void>;
}

export interface RigOptions {
  heartbeatTimeoutMs?: number;
  announceIntervalS?: number;
  dropFirstAck?: boolean;
  welcome?: boolean;
  clientRetryMs?: number;
  linkRetryMs?: number;
  faults?: MessageFaults;
  channelLimits?: Partial<ChannelLimits>;
}

/**
 * The rig's channel limits unless a test sets them: keepalive and bind timeout
 * far beyond any test's virtual time, so a test advancing the clock past a
 * heartbeat timeout does not also drop channels whose pong is still in flight.
 */
const RIG_CHANNEL_LIMITS: Partial<ChannelLimits> = { keepaliveMs: 3_600_000, bindTimeoutMs: 3_600_000 };

export async function startRig(opts: RigOptions = {}): Promise<Rig> {
  const clock = new ManualClock();
  const control = await startFakeControl({ dropFirstAck: opts.dropFirstAck, welcome: opts.welcome });
  const store = new MemorySwarmStore();
  const tracker = await createTracker({
    controlUrl: control.url,
    secret: SECRET,
    clock,
    store,
    heartbeatTimeoutMs: opts.heartbeatTimeoutMs,
    announceIntervalS: opts.announceIntervalS,
    clientRetryMs: opts.clientRetryMs,
    linkRetryMs: opts.linkRetryMs,
    faults: opts.faults,
    channelLimits: { ...RIG_CHANNEL_LIMITS, ...opts.channelLimits },
    webServer: webServerFactory(),
  });
  const { announceUrl, wsUrl } = await tracker.start();
  if (opts.welcome !== false) await tracker.ready;
  return {
    clock,
    control,
    tracker,
    store,
    announceUrl,
    wsUrl,
    base: announceUrl.replace(/\/announce$/, ''),
    token: (c) => mintToken(control, clock, c),
    close: async () => {
      await tracker.stop();
      await store.close();
      await control.close();
    },
  };
}
