/**
 * Where ffmpeg comes from, and how the demo's test pattern is made. The
 * operator's own ffmpeg wins (GATECAST_FFMPEG, then PATH) because it is the one
 * they keep up to date; the static 4.1 build bundled by @ffmpeg-installer is
 * the fallback that makes a fresh machine work.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { InternalError } from '../core/errors.js';

export interface FindFfmpegEnv {
  /** Defaults to process.env; tests pass their own. */
  env?: NodeJS.ProcessEnv;
  /** Defaults to the bundled binary's path; tests pass null to simulate its absence. */
  bundledPath?: string | null;
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The executable `name` on PATH, like `which`, without spawning anything. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

/** The @ffmpeg-installer binary, or null: its index throws (a string) on unsupported platforms. */
export function bundledFfmpegPath(): string | null {
  try {
    const require = createRequire(import.meta.url);
    const installer = require('@ffmpeg-installer/ffmpeg') as { path?: unknown };
    return typeof installer.path === 'string' && isExecutableFile(installer.path) ? installer.path : null;
  } catch {
    return null;
  }
}

export function findFfmpeg(opts: FindFfmpegEnv = {}): string {
  const env = opts.env ?? process.env;
  const fromEnv = env.GATECAST_FFMPEG;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!isExecutableFile(fromEnv)) throw new InternalError(`GATECAST_FFMPEG=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const onPath = findOnPath('ffmpeg', env);
  if (onPath !== null) return onPath;
  const bundled = opts.bundledPath === undefined ? bundledFfmpegPath() : opts.bundledPath;
  if (bundled !== null) return bundled;
  throw new InternalError(
    'ffmpeg not found: set GATECAST_FFMPEG, install ffmpeg on PATH, or reinstall the @ffmpeg-installer/ffmpeg dependency',
  );
}

export interface TestPatternOptions {
  /** Total stream bitrate; audio takes 128 kbit/s of it. */
  bitrateBps: number;
  width?: number;
  height?: number;
  fps?: number;
  /** Frames between keyframes; the default (= fps) gives one random access point per second. */
  gopFrames?: number;
  /** Pace output at real time (-re); off for making test files fast. */
  realtime?: boolean;
  /** Stop after this many seconds; unbounded by default. */
  durationS?: number;
  /** Output file; '-' (stdout) by default. */
  output?: string;
}

const AUDIO_BPS = 128_000;
const MIN_VIDEO_BPS = 100_000;

/** Arguments for an H.264/AAC MPEG-TS test pattern; they work with ffmpeg 4.1 and 5.x alike. */
export function testPatternArgs(opts: TestPatternOptions): string[] {
  const fps = opts.fps ?? 25;
  const gop = opts.gopFrames ?? fps;
  const width = opts.width ?? 640;
  const height = opts.height ?? 360;
  if (!Number.isFinite(opts.bitrateBps) || opts.bitrateBps <= 0) {
    throw new RangeError(`test pattern bitrate must be a positive number, got ${opts.bitrateBps}`);
  }
  // The multiplex is padded to exactly bitrateBps (-muxrate), as broadcast TS is; the
  // encoders get what is left after audio and about 10% of TS/PES overhead.
  const videoBps = Math.max(MIN_VIDEO_BPS, Math.round(opts.bitrateBps * 0.9 - AUDIO_BPS));
  const args = ['-nostdin', '-loglevel', 'error'];
  if (opts.realtime ?? true) args.push('-re');
  args.push(
    '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
  );
  if (opts.durationS !== undefined) args.push('-t', String(opts.durationS));
  args.push(
    '-map', '0:v', '-map', '1:a',
    '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
    '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0',
    // maxrate + a half-second buffer keep the stream close to constant bitrate.
    '-b:v', String(videoBps), '-maxrate', String(videoBps), '-bufsize', String(Math.round(videoBps / 2)),
    '-c:a', 'aac', '-b:a', String(AUDIO_BPS), '-ar', '48000', '-ac', '2',
    '-muxrate', String(Math.max(opts.bitrateBps, videoBps + AUDIO_BPS * 2)),
    '-f', 'mpegts', opts.output ?? '-',
  );
  return args;
}

/** Arguments that replay an MPEG-TS/media file forever at its own bitrate, unchanged. */
export function loopFileArgs(path: string): string[] {
  return ['-nostdin', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', path, '-c', 'copy', '-f', 'mpegts', '-'];
}
