/**
 * ffmpeg for tests: make real H.264/AAC MPEG-TS, and decode a stream the way
 * the operator's check does (count frames, collect decoder errors).
 */
import { spawn } from 'node:child_process';
import { findFfmpeg, findOnPath, testPatternArgs } from '../../src/broadcast/ffmpeg.js';

export function findFfprobe(): string | null {
  return findOnPath('ffprobe');
}

interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

function run(args: string[], input?: Buffer): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(findFfmpeg(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
    // ffmpeg may stop reading early (-t): a closed pipe is expected then.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** Decodes the first video stream of `input` (a file, URL, or '-' with `stdinData`) for up to `seconds`. */
export async function decodeStats(
  input: string,
  seconds: number,
  stdinData?: Buffer,
): Promise<{ frames: number; errors: string }> {
  const args = ['-nostdin', '-v', 'error', '-i', input, '-t', String(seconds), '-map', '0:v:0', '-f', 'null', '-', '-progress', 'pipe:1'];
  if (stdinData) args.splice(0, 1);
  const res = await run(args, stdinData);
  const matches = [...res.stdout.toString('utf8').matchAll(/^frame=(\d+)$/gm)];
  const last = matches.at(-1);
  const errors = res.stderr.trim();
  return { frames: last ? Number(last[1]) : 0, errors: res.code === 0 || errors !== '' ? errors : `ffmpeg exited with ${res.code}` };
}

/** Writes `seconds` of H.264/AAC test pattern as MPEG-TS, as fast as ffmpeg can. */
export async function makeTestClip(path: string, seconds: number, bitrateBps = 1_000_000): Promise<void> {
  const res = await run(['-y', ...testPatternArgs({ bitrateBps, realtime: false, durationS: seconds, output: path })]);
  if (res.code !== 0) throw new Error(`making test clip ${path} failed: ${res.stderr.trim()}`);
}

/** `seconds` of H.264/AAC test pattern as MPEG-TS bytes in memory. */
export async function testPatternBuffer(seconds: number, bitrateBps = 1_000_000): Promise<Buffer> {
  const res = await run(testPatternArgs({ bitrateBps, realtime: false, durationS: seconds }));
  if (res.code !== 0) throw new Error(`making test pattern failed: ${res.stderr.trim()}`);
  return res.stdout;
}
