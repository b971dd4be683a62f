/**
 * Starts Debian's opentracker (`apt-get install -y opentracker`) on a free
 * loopback port. Debian builds it with the info-hash whitelist compiled in,
 * so the bench's few hashes are written to a whitelist (paths in the config
 * are inside its chroot). It refuses to run as root: it drops to `nobody`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from './stats.js';

export function haveOpentracker(): boolean {
  return spawnSync('opentracker', ['-h']).error === undefined;
}

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

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

export interface RunningOpentracker {
  announceUrl: string;
  pid: number;
  rssKb(): number | null;
  stop(): Promise<void>;
}

export async function startOpentracker(infoHashes: string[]): Promise<RunningOpentracker> {
  const dir = mkdtempSync(join(tmpdir(), 'gatecast-ot-'));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'whitelist.txt'), `${infoHashes.join('\n')}\n`);
  writeFileSync(join(dir, 'opentracker.conf'), 'access.whitelist /whitelist.txt\n');
  const port = await freePort();
  const udp = await freePort();
  const child: ChildProcess = spawn(
    'opentracker',
    ['-f', join(dir, 'opentracker.conf'), '-i', '127.0.0.1', '-p', String(port), '-P', String(udp), '-u', 'nobody', '-d', dir],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForPort(port, 5_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`opentracker did not start: ${stderr || String(err)}`);
  }
  // The whitelist is loaded by a thread after start.
  await sleep(300);
  const pid = child.pid ?? 0;
  return {
    announceUrl: `http://127.0.0.1:${port}/announce`,
    pid,
    rssKb() {
      const r = spawnSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' });
      const n = Number(r.stdout.trim());
      return Number.isFinite(n) && n > 0 ? n : null;
    },
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(3_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
