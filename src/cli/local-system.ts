/**
 * Everything on one machine: control server (SQLite), tracker (memory swarm
 * store), broadcaster and viewers on loopback. The demo runs it, and the end
 * to end tests build on it, so both exercise the real parts over real sockets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { createControlServer, type ControlServer } from '../control/index.js';
import { createTracker, type Tracker } from '../tracker/create-tracker.js';
import { SqliteControlStore } from '../store/sqlite-control-store.js';
import { isCorruption } from '../store/sqlite-errors.js';
import { MemorySwarmStore } from '../store/memory-swarm-store.js';
import { Broadcaster } from '../broadcast/broadcaster.js';
import type { IngestSpec } from '../broadcast/ingest.js';
import { Viewer, type ViewerOptions } from '../peer/viewer.js';
import { createPlaybackServer, type PlaybackServer } from '../peer/playback-server.js';
import type { PlaybackSink } from '../peer/playback-sinks.js';
import { systemClock } from '../protocol/system-clock.js';
import { rawPublicKey } from '../core/piece.js';
import type { MessageFaults } from '../core/faults.js';
import type { LoginLimits } from '../control/login-throttle.js';
import { adminClient, type AdminClient } from './control-client.js';
import { webServerFactory } from './web-server.js';

export interface LocalSystemOptions {
  adminPassword?: string;
  /** SQLite path; a temporary file by default. */
  db?: string;
  heartbeatTimeoutMs?: number;
  tokenTtlS?: number;
  host?: string;
  /** Retry periods of the disconnect chain (control → tracker, tracker → client, link reports). */
  disconnectRetryMs?: number;
  clientRetryMs?: number;
  linkRetryMs?: number;
  /** Message loss on the control hops, for tests. */
  faults?: MessageFaults;
  /** Login throttle limits of the control server (the bench turns them off for a before/after). */
  loginLimits?: LoginLimits;
}

export interface LocalSystem {
  controlUrl: string;
  trackerUrl: string;
  adminPassword: string;
  control: ControlServer;
  tracker: Tracker;
  admin: AdminClient;
  /**
   * Creates a program the way `gatecast admin programs add` does: its source
   * key pair is made here (the broadcaster's side), the control server gets the
   * public key only; `broadcast` signs with the private one.
   */
  addProgram(p: { id: string; title?: string; bitrate_bps?: number; length_s?: number | null; packets_per_piece?: number }): Promise<void>;
  /** The program's source private key, as this system's broadcaster holds it (undefined: not made here). */
  sourceKey(program: string): KeyObject | undefined;
  /** Starts a broadcaster for the program (created if missing). */
  broadcast(program: string, input: IngestSpec, opts?: { uploadRate?: number | null; title?: string }): Promise<Broadcaster>;
  /** Creates the user with a subscription to the program, and starts a viewer with a playback server. */
  viewer(
    user: string,
    program: string,
    opts?: Partial<ViewerOptions> & { password?: string; http?: boolean; sinks?: PlaybackSink[] },
  ): Promise<{ viewer: Viewer; play: PlaybackServer | null; playUrl: string | null }>;
  stop(): Promise<void>;
}

export async function startLocalSystem(opts: LocalSystemOptions = {}): Promise<LocalSystem> {
  const host = opts.host ?? '127.0.0.1';
  const adminPassword = opts.adminPassword ?? randomBytes(9).toString('base64url');
  // Made up for this run: the tracker's secret is never the admin password.
  const trackerSecret = randomBytes(18).toString('base64url');
  let tmp: string | null = null;
  let dbPath = opts.db;
  if (!dbPath) {
    tmp = mkdtempSync(join(tmpdir(), 'gatecast-'));
    dbPath = join(tmp, 'control.db');
  }
  // Checked for damage before serving (PRAGMA quick_check): a damaged file fails here with DatabaseCorruptError.
  const store = SqliteControlStore.open(dbPath);
  const control = await createControlServer({
    store,
    clock: systemClock,
    adminPassword,
    trackerSecret,
    tokenTtlS: opts.tokenTtlS,
    disconnectRetryMs: opts.disconnectRetryMs,
    faults: opts.faults,
    loginLimits: opts.loginLimits,
    webServer: webServerFactory(),
    isDatabaseCorrupt: isCorruption,
  });
  const controlUrl = await control.listen(0, host);
  const swarmStore = new MemorySwarmStore();
  const tracker = await createTracker({
    controlUrl,
    secret: trackerSecret,
    port: 0,
    host,
    store: swarmStore,
    heartbeatTimeoutMs: opts.heartbeatTimeoutMs,
    clientRetryMs: opts.clientRetryMs,
    linkRetryMs: opts.linkRetryMs,
    faults: opts.faults,
    webServer: webServerFactory(),
  });
  const { announceUrl } = await tracker.start();
  await tracker.ready;
  const admin = adminClient(controlUrl, adminPassword);
  const broadcasters: Broadcaster[] = [];
  const viewers: Array<{ viewer: Viewer; play: PlaybackServer | null; sinks: PlaybackSink[] }> = [];

  // The programs' source private keys: made in this composition root, never sent to the control server.
  const sourceKeys = new Map<string, KeyObject>();
  async function addProgram(p: { id: string; title?: string; bitrate_bps?: number; length_s?: number | null; packets_per_piece?: number }): Promise<void> {
    const { privateKey } = generateKeyPairSync('ed25519');
    await admin.addProgram({ ...p, title: p.title ?? p.id, source_key: rawPublicKey(privateKey) });
    sourceKeys.set(p.id, privateKey);
  }

  async function ensureProgram(program: string, title?: string): Promise<void> {
    const list = await admin.listPrograms();
    if (!list.some((p) => p.id === program)) await addProgram({ id: program, title: title ?? program });
  }

  return {
    controlUrl,
    trackerUrl: announceUrl.replace(/\/announce.*$/, ''),
    adminPassword,
    control,
    tracker,
    admin,
    addProgram,
    sourceKey: (program) => sourceKeys.get(program),
    async broadcast(program, input, bopts = {}) {
      await ensureProgram(program, bopts.title);
      const sourceKey = sourceKeys.get(program);
      if (!sourceKey) throw new Error(`program ${program} was not created by this local system: it holds no source key for it`);
      const b = await Broadcaster.start({ controlUrl, program, adminPassword, input, uploadRate: bopts.uploadRate ?? null, host, sourceKey });
      b.on('error', (err) => process.stderr.write(`broadcaster of ${program}: ${err.message}\n`));
      broadcasters.push(b);
      return b;
    },
    async viewer(user, program, vopts = {}) {
      const password = vopts.password ?? `pw-${user}`;
      const users = await admin.listUsers();
      if (!users.some((u) => u.name === user)) await admin.addUser(user, password);
      await admin.grant(user, program, null);
      // The player page's overlay and its end notice read the viewer, which exists only once admitted.
      let admitted: Viewer | null = null;
      const play =
        vopts.http === false
          ? null
          : createPlaybackServer({
              webServer: webServerFactory(),
              host: '127.0.0.1',
              title: program,
              status: () => admitted?.stats() ?? {},
              viewerStats: () => admitted?.stats() ?? null,
            });
      const sinks = [...(play ? [play] : []), ...(vopts.sinks ?? [])];
      const viewer = await Viewer.start({ controlUrl, program, user, password, host, ...vopts, sinks });
      admitted = viewer;
      viewer.once('ended', (end) => void play?.end({ kind: end.kind, reason: end.reason, message: `session ended: ${end.reason}` }));
      const playUrl = play ? `${(await play.listen()).replace(/\/$/, '')}/stream.ts` : null;
      viewers.push({ viewer, play, sinks });
      return { viewer, play, playUrl };
    },
    async stop() {
      for (const v of viewers) {
        await v.viewer.stop('system stopping').catch(() => undefined);
        await Promise.all(v.sinks.map((s) => s.close().catch(() => undefined)));
      }
      for (const b of broadcasters) await b.stop().catch(() => undefined);
      await tracker.stop();
      await swarmStore.close();
      await control.close();
      await store.close();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    },
  };
}
