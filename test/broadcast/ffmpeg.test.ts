import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InternalError } from '../../src/core/errors.js';
import { bundledFfmpegPath, findFfmpeg, findOnPath, testPatternArgs } from '../../src/broadcast/ffmpeg.js';
import { Segmenter } from '../../src/broadcast/segmenter.js';

function tempDir(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), 'gatecast-ffmpeg-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

function fakeExecutable(dir: string, name: string, mode = 0o755): string {
  const path = join(dir, name);
  writeFileSync(path, '#!/bin/sh\nexit 0\n');
  chmodSync(path, mode);
  return path;
}

test('GATECAST_FFMPEG wins over PATH and the bundled binary', () => {
  using t = tempDir();
  const mine = fakeExecutable(t.dir, 'my-ffmpeg');
  fakeExecutable(t.dir, 'ffmpeg');
  assert.equal(findFfmpeg({ env: { GATECAST_FFMPEG: mine, PATH: t.dir } }), mine);
  assert.throws(() => findFfmpeg({ env: { GATECAST_FFMPEG: join(t.dir, 'nope') } }), (err: unknown) => {
    return err instanceof InternalError && /GATECAST_FFMPEG=.*nope is not an executable file/.test(err.message);
  });
});

test('ffmpeg on PATH is found without spawning, skipping non-executable files', () => {
  using t = tempDir();
  using u = tempDir();
  fakeExecutable(t.dir, 'ffmpeg', 0o644);
  const good = fakeExecutable(u.dir, 'ffmpeg');
  assert.equal(findFfmpeg({ env: { PATH: `${t.dir}:${u.dir}` }, bundledPath: null }), good);
  assert.equal(findOnPath('ffmpeg', { PATH: t.dir }), null);
});

test('with no ffmpeg on PATH, the bundled @ffmpeg-installer binary is used', () => {
  using t = tempDir();
  const bundled = bundledFfmpegPath();
  assert.ok(bundled, 'the @ffmpeg-installer dependency ships a binary for this platform');
  assert.match(bundled, /@ffmpeg-installer/);
  assert.equal(findFfmpeg({ env: { PATH: t.dir } }), bundled);
  assert.equal(findFfmpeg({ env: {} }), bundled);
});

test('no ffmpeg anywhere is a clear InternalError', () => {
  assert.throws(() => findFfmpeg({ env: { PATH: '' }, bundledPath: null }), (err: unknown) => {
    return err instanceof InternalError && /ffmpeg not found: set GATECAST_FFMPEG/.test(err.message);
  });
});

test('testPatternArgs: H.264 + 128k AAC muxed at exactly the bitrate (null-padded CBR TS), one keyframe per GOP, MPEG-TS on stdout', () => {
  const args = testPatternArgs({ bitrateBps: 2_000_000 });
  const value = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
  assert.ok(args.includes('-re'));
  assert.equal(value('-b:v'), '1672000');
  assert.equal(value('-maxrate'), '1672000');
  assert.equal(value('-muxrate'), '2000000');
  assert.equal(value('-g'), '25');
  assert.equal(value('-keyint_min'), '25');
  assert.equal(value('-sc_threshold'), '0');
  assert.equal(value('-b:a'), '128000');
  assert.deepEqual(args.slice(-3), ['-f', 'mpegts', '-']);
  assert.ok(!testPatternArgs({ bitrateBps: 1e6, realtime: false }).includes('-re'));
  assert.equal(testPatternArgs({ bitrateBps: 1e6, fps: 30 })[testPatternArgs({ bitrateBps: 1e6, fps: 30 }).indexOf('-g') + 1], '30');
  assert.throws(() => testPatternArgs({ bitrateBps: 0 }), RangeError);
});

function runToBuffer(ffmpeg: string, args: string[]): Promise<{ code: number | null; out: Buffer; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out: Buffer.concat(out), err }));
  });
}

test('the test pattern works with the bundled ffmpeg 4.1 and the one on PATH', async () => {
  const binaries = [bundledFfmpegPath(), findOnPath('ffmpeg')].filter((b): b is string => b !== null);
  assert.ok(binaries.length >= 1);
  for (const ffmpeg of binaries) {
    const res = await runToBuffer(ffmpeg, testPatternArgs({ bitrateBps: 500_000, realtime: false, durationS: 2 }));
    assert.equal(res.code, 0, `${ffmpeg}: ${res.err}`);
    assert.equal(res.err, '');
    const seg = new Segmenter({ packetsPerPiece: 20 });
    const pieces = [...seg.push(res.out, 0), ...seg.flush(0)];
    assert.equal(seg.droppedBytes, 0);
    assert.equal(pieces.filter((p) => p.rapOffset !== null).length, 2, `${ffmpeg}: a keyframe each second`);
  }
});
