/**
 * Real gatecast processes for the chaos suite: each started through the CLI
 * (`node bin/gatecast.js ...`, as the operator's checks do) in its own process
 * group, so a signal reaches the whole group (the broadcaster's ffmpeg too):
 * `kill -9`, SIGSTOP/SIGCONT. Output goes to a log file in the test's folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ViewerStats } from '../../src/peer/viewer.js';

export const BIN = fileURLToPath(new URL('../../bin/gatecast.js', import.meta.url));

/** A loopback port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Every process group a test started; killed on the way out whatever happens to the test. */
const live = new Set<number>();
process.once('exit', () => {
  for (const pid of live) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

export class ChaosProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  exit: ExitInfo | null = null;

  constructor(
    readonly name: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    readonly logPath: string,
  ) {
    const fd = openSync(logPath, 'a');
    try {
      this.child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', fd, fd], detached: true });
    } finally {
      closeSync(fd);
    }
    if (this.child.pid === undefined) throw new Error(`${name}: spawn failed`);
    this.pid = this.child.pid;
    live.add(this.pid);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  get alive(): boolean {
    return this.exit === null;
  }

  log(): string {
    return existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8') : '';
  }

  /** The log's last lines, for failure messages. */
  tail(lines = 5): string {
    return this.log().trimEnd().split('\n').slice(-lines).join(' | ');
  }

  /** Sends `sig` to the whole process group (kill -SIG -- -PID). */
  signal(sig: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }

  /** kill -9 of the group; resolves once the process is reaped. */
  async kill9(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
    live.delete(this.pid);
  }

  /** Ends the group: SIGTERM, then SIGKILL if it lingers (also SIGCONT, in case it was stopped). */
  async end(): Promise<void> {
    if (this.alive) {
      this.signal('SIGTERM');
      this.signal('SIGCONT');
      const timer = setTimeout(() => this.signal('SIGKILL'), 3_000);
      await this.exited;
      clearTimeout(timer);
    }
    // Children of the group (ffmpeg) may outlive the leader.
    this.signal('SIGKILL');
    live.delete(this.pid);
  }
}

/** A `gatecast watch` process writing the stream to a file and serving its status on the playback URL. */
export class ChaosViewer extends ChaosProcess {
  constructor(
    readonly user: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    logPath: string,
    readonly outputPath: string,
  ) {
    super(`viewer ${user}`, args, env, logPath);
  }

  /** The session id the viewer printed when admitted (null before). */
  sid(): string | null {
    return /^admitted to .* session (\S+)$/m.exec(this.log())?.[1] ?? null;
  }

  /** How many times it printed an admission: a second one would be a new session. */
  admissions(): number {
    return [...this.log().matchAll(/^admitted to /gm)].length;
  }

  playbackBase(): string | null {
    return /^playback URL: (\S+)\/stream\.ts/m.exec(this.log())?.[1] ?? null;
  }

  outputSize(): number {
    return existsSync(this.outputPath) ? statSync(this.outputPath).size : 0;
  }

  /** The viewer's own figures (GET /status.json on its playback URL). */
  async stats(): Promise<ViewerStats> {
    const base = this.playbackBase();
    if (!base) throw new Error(`${this.name} has no playback URL yet: ${this.tail()}`);
    const res = await fetch(`${base}/status.json`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`${this.name} status.json answered ${res.status}`);
    return (await res.json()) as ViewerStats;
  }
}
