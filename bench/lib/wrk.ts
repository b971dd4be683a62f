/** Runs wrk (C, epoll) as the one load generator for every tracker, so they are compared on equal terms. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wrkScript, type MixEntry } from './announce-mix.js';

export interface LoadResult {
  rps: number;
  /** Announces answered with a success (not a "failure reason"). */
  ok: number;
  failures: number;
  socketErrors: string | null;
  latencyAvg: string | null;
}

export function haveWrk(): boolean {
  return spawnSync('wrk', ['--version']).error === undefined;
}

export async function runWrk(opts: {
  url: string;
  entries: MixEntry[];
  durationS: number;
  threads: number;
  connections: number;
}): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'gatecast-wrk-'));
  const script = join(dir, 'announce.lua');
  writeFileSync(script, wrkScript(opts.entries));
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn('wrk', ['-t', String(opts.threads), '-c', String(opts.connections), '-d', `${opts.durationS}s`, '--latency', '-s', script, opts.url], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (text += s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (text += s));
      child.once('error', reject);
      child.once('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${String(code)}: ${text}`))));
    });
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 'NaN');
    const counts = /BENCH ok=(\d+) failures=(\d+)/.exec(out);
    const ok = Number(counts?.[1] ?? 0);
    const failures = Number(counts?.[2] ?? 0);
    // wrk's Requests/sec counts every answer; keep only the successful announces.
    const total = ok + failures;
    return {
      rps: total > 0 ? Math.round((rps * ok) / total) : Math.round(rps),
      ok,
      failures,
      socketErrors: /Socket errors:[^\n]*/.exec(out)?.[0] ?? null,
      latencyAvg: /Latency\s+(\S+)/.exec(out)?.[1] ?? null,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
