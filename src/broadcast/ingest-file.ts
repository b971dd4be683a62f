/**
 * File ingest: replays a media file at its own bitrate (-re), looped forever,
 * remuxed to MPEG-TS without re-encoding, so a recorded clip behaves like a
 * live feed.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { InternalError } from '../core/errors.js';
import { findFfmpeg, loopFileArgs } from './ffmpeg.js';
import { ffmpegIngest } from './ingest-ffmpeg.js';
import type { Ingest } from './ingest.js';

/** Throws `cannot read FILE: reason` unless path is a readable regular file. */
export function checkReadableFile(path: string): void {
  try {
    if (!statSync(path).isFile()) throw new Error('not a regular file');
    accessSync(path, constants.R_OK);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new InternalError(`cannot read ${path}: ${reason}`, { cause: err });
  }
}

export function fileIngest(path: string, ffmpegPath?: string): Ingest {
  checkReadableFile(path);
  return ffmpegIngest(ffmpegPath ?? findFfmpeg(), loopFileArgs(path), `file ${path}`);
}
