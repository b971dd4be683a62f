/**
 * Ingest: where the broadcaster's MPEG-TS bytes come from. Every kind yields
 * the same thing, a paced stream of TS bytes, so the segmenter never knows
 * which one it is reading.
 */
import type { Readable } from 'node:stream';
import { findFfmpeg, testPatternArgs } from './ffmpeg.js';
import { ffmpegIngest } from './ingest-ffmpeg.js';
import { fileIngest } from './ingest-file.js';
import { stdinIngest } from './ingest-stdin.js';

export type IngestSpec =
  | { kind: 'test-pattern'; bitrateBps: number }
  | { kind: 'file'; path: string }
  | { kind: 'stdin' };

export interface Ingest {
  /** TS bytes at the stream's own pace. Ends quietly after stop(); throws if the producer fails. */
  chunks: AsyncIterable<Buffer>;
  /** Ends the producer (kills ffmpeg); safe to call more than once. */
  stop(): Promise<void>;
}

export interface IngestOptions {
  ffmpegPath?: string;
  /** Aborting it stops the ingest. */
  signal?: AbortSignal;
  /** The stream the 'stdin' kind reads; process.stdin by default. */
  stdin?: Readable;
}

export function openIngest(spec: IngestSpec, opts: IngestOptions = {}): Ingest {
  let ingest: Ingest;
  switch (spec.kind) {
    case 'test-pattern':
      ingest = ffmpegIngest(opts.ffmpegPath ?? findFfmpeg(), testPatternArgs({ bitrateBps: spec.bitrateBps }), 'test pattern');
      break;
    case 'file':
      ingest = fileIngest(spec.path, opts.ffmpegPath);
      break;
    case 'stdin':
      ingest = stdinIngest(opts.stdin ?? process.stdin);
      break;
  }
  const { signal } = opts;
  if (signal) {
    const onAbort = (): void => void ingest.stop();
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  return ingest;
}
