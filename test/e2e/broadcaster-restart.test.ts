/**
 * Issue 9, part 2: `kill -9` of the broadcaster (its whole process group,
 * ffmpeg too) and a restart 5 s later. The restarted source continues the
 * program's sequence space from its state file (never below a seq already
 * used); the viewer keeps its process and session, its output grows again,
 * it stalls no longer than the restart took, passes over the never-made seqs
 * without counting them as missed, and skips at most 2 s of the new stream.
 * Real processes through the CLI, loopback only.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFfmpeg, testPatternArgs } from '../../src/broadcast/ffmpeg.js';
import { seqStatePath } from '../../src/broadcast/seq-state-file.js';
import { defaultSourceKeyPath } from '../../src/cli/source-key-file.js';
import type { ViewerStats } from '../../src/peer/viewer.js';
import { runCli, waitFor } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/gatecast.js', import.meta.url));

const ADMIN_PASSWORD = 'restart-admin-pw';
const BITRATE = 800_000;
const dir = mkdtempSync(join(tmpdir(), 'gatecast-src-restart-'));
const procs: Proc[] = [];

after(async () => {
  await Promise.all(procs.map((p) => p.end()));
  rmSync(dir, { recursive: true, force: true });
});

/** One CLI process in its own process group, logging to a file; `kill9` reaches its ffmpeg too. */
class Proc {
  readonly child: ChildProcess;
  private out = '';
  exited = false;

  constructor(
    readonly name: string,
    args: string[],
  ) {
    this.child = spawn(process.execPath, [BIN, ...args], { env: env(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    for (const s of [this.child.stdout, this.child.stderr]) s?.setEncoding('utf8').on('data', (d: string) => (this.out += d));
    this.child.once('exit', () => (this.exited = true));
    procs.push(this);
  }

  get log(): string {
    return this.out;
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      if (this.child.pid !== undefined) process.kill(-this.child.pid, sig);
    } catch {
      // already gone
    }
  }

  async kill9(): Promise<void> {
    this.signal('SIGKILL');
    if (!this.exited) await new Promise((r) => this.child.once('exit', r));
  }

  async end(): Promise<void> {
    if (!this.exited) {
      this.signal('SIGTERM');
      const t = setTimeout(() => this.signal('SIGKILL'), 3_000);
      await new Promise((r) => (this.exited ? r(null) : this.child.once('exit', r)));
      clearTimeout(t);
    }
    this.signal('SIGKILL');
  }
}

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, GATECAST_ADMIN_PASSWORD: ADMIN_PASSWORD, GATECAST_TRACKER_SECRET: 'restart-tracker-secret', XDG_CONFIG_HOME: join(dir, 'config') };
  for (const k of ['GATECAST_CONTROL', 'GATECAST_USER', 'GATECAST_PASSWORD', 'GATECAST_DEBUG']) delete e[k];
  return e;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return true;
  } catch {
    return false;
  }
}

function makeClip(path: string, seconds: number): Promise<void> {
  const args = ['-y', ...testPatternArgs({ bitrateBps: BITRATE, width: 320, height: 180, realtime: false, durationS: seconds, output: path })];
  return new Promise((resolve, reject) => {
    const child = spawn(findFfmpeg(), args, { stdio: 'ignore' });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}`))));
  });
}

async function admin(control: string, args: string[]): Promise<void> {
  const r = await runCli(['admin', '--control', control, ...args], { env: env() as Record<string, string>, timeoutMs: 60_000 });
  assert.equal(r.code, 0, `admin ${args.join(' ')}: ${r.stderr}`);
}

test('broadcaster kill -9 and restart after 5 s: the viewer plays on, stalls no longer than the restart, skips ≤ 2 s of the new stream', { timeout: 240_000 }, async () => {
  mkdirSync(join(dir, 'config'));
  const clip = join(dir, 'clip.ts');
  const [cp, tp, hp] = [await freePort(), await freePort(), await freePort()];
  const control = `http://127.0.0.1:${cp}`;
  const clipMade = makeClip(clip, 20);
  const ctl = new Proc('control', ['control', '--port', String(cp), '--db', join(dir, 'control.db')]);
  await waitFor('the control server', async () => (ctl.exited ? assert.fail(ctl.log) : answers(`${control}/v1/health`)), 60_000);
  const trk = new Proc('tracker', ['tracker', '--port', String(tp), '--control', control]);
  await admin(control, ['programs', 'add', 'ch1', '--title', 'Restart', '--bitrate', String(BITRATE)]);
  await admin(control, ['users', 'add', 'alice', '--password', 'pw-alice']);
  await admin(control, ['grant', 'alice', 'ch1']);
  await waitFor('the tracker', () => (trk.exited ? assert.fail(trk.log) : answers(`http://127.0.0.1:${tp}/health`)), 60_000);
  await clipMade;
  const broadcast = (name: string): Proc => new Proc(name, ['broadcast', '--control', control, '--program', 'ch1', '--input', clip]);
  const b1 = broadcast('broadcaster');
  await waitFor('the broadcaster to start', () => (b1.exited ? assert.fail(b1.log) : /^first piece \d+/m.test(b1.log)), 60_000);
  const out = join(dir, 'alice.ts');
  const viewer = new Proc('viewer', ['watch', '--control', control, '--user', 'alice', '--password', 'pw-alice', '--http-port', String(hp), '--output', out, '--quiet', 'ch1']);
  const stats = async (): Promise<ViewerStats> => {
    if (viewer.exited) assert.fail(`the viewer exited: ${viewer.log}`);
    const res = await fetch(`http://127.0.0.1:${hp}/status.json`, { signal: AbortSignal.timeout(5_000) });
    return (await res.json()) as ViewerStats;
  };
  const outSize = (): number => (existsSync(out) ? statSync(out).size : 0);
  // About 6 s of stream played before the fault.
  const pieceMs = (174 * 188 * 8 * 1000) / BITRATE;
  await waitFor('the viewer to play 6 s of stream', async () => (await answers(`http://127.0.0.1:${hp}/`)) && (await stats()).played >= 6_000 / pieceMs, 90_000);
  const sid = (await stats()).session;
  const before = await stats();

  await b1.kill9();
  const killedAt = Date.now();
  await new Promise((r) => setTimeout(r, 5_000));
  const b2 = broadcast('broadcaster-2');
  const first = await waitFor('the restarted broadcaster to say where it continues', () => {
    if (b2.exited) assert.fail(b2.log);
    const m = /^first piece (\d+), (continuing|from the clock)/m.exec(b2.log);
    return m ? { seq: Number(m[1]), continuing: m[2] === 'continuing', at: Date.now() } : null;
  }, 60_000);
  const restartMs = first.at - killedAt;
  assert.ok(first.continuing, `the restarted broadcaster continued from its state file (${seqStatePath(defaultSourceKeyPath(control, 'ch1', env()))}): ${b2.log}`);
  const state = JSON.parse(readFileSync(seqStatePath(defaultSourceKeyPath(control, 'ch1', env())), 'utf8')) as { reserved: number };
  assert.ok(state.reserved > first.seq, 'the restarted broadcaster reserved its seqs before signing them');

  // The viewer resumes on the new pieces and plays 3 s of them.
  const resumed = await waitFor('the viewer to play 3 s of the new stream', async () => {
    const s = await stats();
    return s.lastGap !== null && s.played >= before.played + 3_000 / pieceMs ? s : null;
  }, 90_000);
  const grown = outSize();
  await waitFor('the output to grow after the restart', () => outSize() > grown, 20_000);

  const gap = resumed.lastGap;
  assert.ok(gap);
  const stallMs = resumed.stalledMs - before.stalledMs;
  const skippedMs = (gap.to - first.seq + (resumed.missed - before.missed)) * pieceMs;
  process.stderr.write(
    `broadcaster restart: ready ${restartMs} ms after the kill; viewer stalled ${Math.round(stallMs)} ms, ` +
      `passed over ${resumed.gapped - before.gapped} never-made seqs [${gap.from}, ${gap.to}), new stream from ${first.seq}, ` +
      `skipped ${Math.round(skippedMs)} ms of it, missed ${resumed.missed - before.missed} pieces, ` +
      `on time/late ${before.onTime}/${before.late} before, ${resumed.onTime}/${resumed.late} after\n`,
  );
  assert.equal(resumed.session, sid, 'the same session');
  // No reuse: the new source starts above every seq the viewer got from the old one, and leaves at most one reservation block unused.
  assert.ok(first.seq >= gap.from, `the new source's first seq ${first.seq} reuses one below ${gap.from}`);
  assert.ok(first.seq - gap.from <= 16, `the new source left ${first.seq - gap.from} seqs unused`);
  assert.ok(gap.to >= first.seq, `the gap ends at ${gap.to}, inside the new stream from ${first.seq}`);
  assert.ok(skippedMs <= 2_000, `skipped ${Math.round(skippedMs)} ms of the new stream`);
  // The player waits for the new source, not longer: its buffer (about 1 s) covers the first part of the outage, and
  // the new stream's first random access point and one more piece (0.65 s here) end the wait. Measured: stall − restart
  // between −1.0 and +0.9 s over ten runs on a loaded machine; before the fix, +4 to +6 s and 15–22 s skipped.
  assert.ok(stallMs <= restartMs + 2_500, `stalled ${Math.round(stallMs)} ms for a restart of ${restartMs} ms`);
  assert.equal(viewer.exited, false);
});
