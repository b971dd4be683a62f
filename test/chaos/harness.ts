/**
 * The chaos suite's system: a control server, a tracker, a broadcaster and
 * viewers as real processes started through the CLI on free loopback ports,
 * with a temporary folder for the database, the config directory (source key,
 * sequence state) and every log and output. Any part can be killed (`kill -9`),
 * stopped (SIGSTOP/SIGCONT) and restarted on the same ports and data.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFfmpeg, testPatternArgs } from '../../src/broadcast/ffmpeg.js';
import { defaultSourceKeyPath, newSourceKeyFile } from '../../src/cli/source-key-file.js';
import { controlRequest } from '../../src/protocol/control-api.js';
import type { SessionView, ProgramView } from '../../src/control/schemas.js';
import type { TrackerHealth } from '../../src/tracker/health.js';
import { runCli, waitFor } from '../e2e/helpers.js';
import { ChaosProcess, ChaosViewer, freePort } from './processes.js';

export { ChaosProcess, ChaosViewer } from './processes.js';
export { waitFor } from '../e2e/helpers.js';

const ADMIN_PASSWORD = 'chaos-admin-pw';
const TRACKER_SECRET = 'chaos-tracker-secret';
export const PROGRAM = 'ch1';
/** The clip the broadcaster loops: small and cheap (the suite shares 2 cores with the rest of the tests). */
const CLIP_BPS = 800_000;

export interface ChaosOptions {
  /** --token-ttl of the control server, seconds (default: the server's). */
  tokenTtlS?: number;
}

/** Makes `seconds` of small H.264/AAC test pattern as an MPEG-TS file, as fast as ffmpeg can. */
function makeClip(path: string, seconds: number): Promise<void> {
  const args = ['-y', ...testPatternArgs({ bitrateBps: CLIP_BPS, width: 320, height: 180, realtime: false, durationS: seconds, output: path })];
  return new Promise((resolve, reject) => {
    const child = spawn(findFfmpeg(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`making ${path} failed (${code}): ${err.trim()}`))));
  });
}

export class ChaosSystem {
  control!: ChaosProcess;
  tracker!: ChaosProcess;
  broadcaster!: ChaosProcess;
  readonly viewers: ChaosViewer[] = [];
  /** Every process ever started, restarts included, for stop(). */
  private readonly all: ChaosProcess[] = [];
  private readonly generations = new Map<string, number>();

  private constructor(
    readonly dir: string,
    readonly controlPort: number,
    readonly trackerPort: number,
    private readonly opts: ChaosOptions,
  ) {}

  get controlUrl(): string {
    return `http://127.0.0.1:${this.controlPort}`;
  }

  get trackerUrl(): string {
    return `http://127.0.0.1:${this.trackerPort}`;
  }

  /**
   * Control and tracker, the program and its source key, a broadcaster whose source session has joined, and one
   * viewer per name (a user subscribed to the program) admitted and writing stream to its file. Processes that
   * do not wait on each other start together: each one's start-up is mostly CPU (tsx), and the machine is small.
   */
  static async start(name: string, viewers: string[], opts: ChaosOptions = {}): Promise<ChaosSystem> {
    const dir = mkdtempSync(join(tmpdir(), `gatecast-chaos-${name}-`));
    mkdirSync(join(dir, 'config'));
    const sys = new ChaosSystem(dir, await freePort(), await freePort(), opts);
    try {
      const clip = makeClip(sys.clipPath, 12);
      clip.catch(() => undefined); // awaited below; a start-up failure first must not leave it unhandled
      await Promise.all([sys.startControl(), sys.startTracker()]);
      const key = newSourceKeyFile(defaultSourceKeyPath(sys.controlUrl, PROGRAM, sys.env()));
      await sys.admin('POST', '/v1/admin/programs', { id: PROGRAM, title: 'Chaos', bitrate_bps: CLIP_BPS, source_key: key.publicKey });
      key.commit();
      for (const user of viewers) await sys.subscribe(user);
      await clip;
      await sys.startBroadcaster();
      for (const user of viewers) sys.startViewer(user);
      await sys.allPlaying();
    } catch (err) {
      await sys.stop();
      throw err;
    }
    return sys;
  }

  get clipPath(): string {
    return join(this.dir, 'clip.ts');
  }

  private ownEnv(): Record<string, string> {
    return { GATECAST_ADMIN_PASSWORD: ADMIN_PASSWORD, GATECAST_TRACKER_SECRET: TRACKER_SECRET, XDG_CONFIG_HOME: join(this.dir, 'config') };
  }

  /** The environment every process gets: our admin password and tracker secret, our own config directory. */
  env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, ...this.ownEnv() };
    for (const k of ['GATECAST_CONTROL', 'GATECAST_USER', 'GATECAST_PASSWORD', 'GATECAST_DEBUG', 'GATECAST_LOG_LEVEL']) delete env[k];
    return env;
  }

  private track<P extends ChaosProcess>(p: P): P {
    this.all.push(p);
    return p;
  }

  /** name.log, then name-2.log, ... for each restart. */
  private logFor(name: string): string {
    const n = (this.generations.get(name) ?? 0) + 1;
    this.generations.set(name, n);
    return join(this.dir, n === 1 ? `${name}.log` : `${name}-${n}.log`);
  }

  /** Starts (or restarts) the control server on its port and database; resolves once it answers. */
  async startControl(): Promise<ChaosProcess> {
    const args = ['control', '--port', String(this.controlPort), '--db', join(this.dir, 'control.db')];
    if (this.opts.tokenTtlS !== undefined) args.push('--token-ttl', String(this.opts.tokenTtlS));
    // info: the request log shows every token renewal.
    this.control = this.track(new ChaosProcess('control', args, { ...this.env(), GATECAST_LOG_LEVEL: 'info' }, this.logFor('control')));
    const proc = this.control;
    await waitFor(`the control server to answer (${proc.logPath})`, async () => {
      if (!proc.alive) throw new Error(`control exited ${JSON.stringify(proc.exit)}: ${proc.tail()}`);
      return (await this.controlHealth()) !== null;
    }, 30_000);
    return proc;
  }

  /** Starts (or restarts) the tracker on its port; resolves once its control link is up. */
  async startTracker(): Promise<ChaosProcess> {
    this.tracker = this.track(new ChaosProcess('tracker', ['tracker', '--port', String(this.trackerPort), '--control', this.controlUrl], this.env(), this.logFor('tracker')));
    const proc = this.tracker;
    await waitFor(`the tracker's control link (${proc.logPath})`, async () => {
      if (!proc.alive) throw new Error(`tracker exited ${JSON.stringify(proc.exit)}: ${proc.tail()}`);
      return (await this.trackerHealth())?.control_link === 'up';
    }, 30_000);
    return proc;
  }

  /** Starts (or restarts) the broadcaster looping the clip; resolves once a source session has joined. */
  async startBroadcaster(): Promise<ChaosProcess> {
    const before = new Set((await this.sessions()).filter((s) => s.role === 'source').map((s) => s.id));
    this.broadcaster = this.track(
      new ChaosProcess('broadcaster', ['broadcast', '--control', this.controlUrl, '--program', PROGRAM, '--input', this.clipPath], this.env(), this.logFor('broadcaster')),
    );
    const proc = this.broadcaster;
    await waitFor(`the source session to join (${proc.logPath})`, async () => {
      if (!proc.alive) throw new Error(`broadcaster exited ${JSON.stringify(proc.exit)}: ${proc.tail()}`);
      return (await this.sessions()).some((s) => s.role === 'source' && s.state === 'joined' && !before.has(s.id));
    }, 30_000);
    return proc;
  }

  /** A user (password pw-USER) subscribed to the program. */
  async subscribe(user: string): Promise<void> {
    await this.admin('POST', '/v1/admin/users', { name: user, password: `pw-${user}` });
    await this.admin('PUT', '/v1/admin/subscriptions', { user, program: PROGRAM, until: null });
  }

  /** A new subscribed user and its viewer, once the viewer plays. */
  async addViewer(user: string): Promise<ChaosViewer> {
    await this.subscribe(user);
    const v = this.startViewer(user);
    await this.allPlaying([v]);
    return v;
  }

  /** A `gatecast watch` of a subscribed user writing the program to its own file (not waited for). */
  startViewer(user: string): ChaosViewer {
    const out = join(this.dir, `${user}.ts`);
    const args = ['watch', '--control', this.controlUrl, '--user', user, '--password', `pw-${user}`, '--output', out, '--quiet', PROGRAM];
    const v = this.track(new ChaosViewer(user, args, this.env(), this.logFor(user), out));
    this.viewers.push(v);
    return v;
  }

  /** The viewer of that user (started by start()). */
  viewer(user: string): ChaosViewer {
    const v = this.viewers.find((x) => x.user === user);
    if (!v) throw new Error(`no viewer ${user}`);
    return v;
  }

  /** Waits until every viewer has printed its session and its output holds stream. */
  async allPlaying(viewers: ChaosViewer[] = this.viewers, timeoutMs = 30_000): Promise<void> {
    await waitFor('every viewer admitted and playing', () => {
      for (const v of viewers) {
        if (!v.alive) throw new Error(`${v.name} exited ${JSON.stringify(v.exit)}: ${v.tail()}`);
      }
      return viewers.every((v) => v.sid() !== null && v.playbackBase() !== null && v.outputSize() > 0);
    }, timeoutMs);
  }

  async admin(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<unknown> {
    return controlRequest(this.controlUrl, path, { method, body, basic: { user: 'admin', password: ADMIN_PASSWORD }, timeoutMs: 5_000 });
  }

  /** An unauthenticated POST to the control server (a program request, say). */
  async request(path: string, body: unknown): Promise<unknown> {
    return controlRequest(this.controlUrl, path, { method: 'POST', body, timeoutMs: 5_000 });
  }

  /** The control server's list of clients in the system (open sessions). */
  async sessions(): Promise<SessionView[]> {
    return ((await this.admin('GET', '/v1/admin/sessions')) as { sessions: SessionView[] }).sessions;
  }

  async program(): Promise<ProgramView> {
    const { programs } = (await this.admin('GET', '/v1/admin/programs')) as { programs: ProgramView[] };
    const p = programs.find((x) => x.id === PROGRAM);
    if (!p) throw new Error(`no program ${PROGRAM}`);
    return p;
  }

  /** Stream milliseconds per piece, from the program's metadata. */
  async pieceMs(): Promise<number> {
    const p = await this.program();
    return (p.packets_per_piece * 188 * 8 * 1000) / p.bitrate_bps;
  }

  /** The tracker's GET /health (its session count is the tracker's view of the list), or null when it does not answer. */
  async trackerHealth(): Promise<TrackerHealth | null> {
    try {
      const res = await fetch(`${this.trackerUrl}/health`, { signal: AbortSignal.timeout(2_000) });
      return res.ok ? ((await res.json()) as TrackerHealth) : null;
    } catch {
      return null;
    }
  }

  async controlHealth(): Promise<{ status: string } | null> {
    try {
      const res = await fetch(`${this.controlUrl}/v1/health`, { signal: AbortSignal.timeout(2_000) });
      return res.ok ? ((await res.json()) as { status: string }) : null;
    } catch {
      return null;
    }
  }

  /** An operator kick of one session: POST /v1/admin/kick, what `gatecast admin kick` sends. */
  async kick(sid: string, reason: string): Promise<void> {
    await this.admin('POST', '/v1/admin/kick', { session: sid, reason });
  }

  /** `gatecast admin kick TARGET` as the operator types it. */
  async kickCli(target: string, reason: string): Promise<void> {
    const r = await runCli(['admin', '--control', this.controlUrl, 'kick', target, '--reason', reason], { env: this.ownEnv(), timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`admin kick ${target} failed (${r.code}): ${r.stderr}`);
  }

  /** Ends every process and removes the folder (kept, with its logs, when GATECAST_CHAOS_KEEP is set). */
  async stop(): Promise<void> {
    await Promise.all(this.all.map((p) => p.end()));
    if (process.env['GATECAST_CHAOS_KEEP']) {
      process.stderr.write(`chaos: logs kept in ${this.dir}\n`);
    } else {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
