/**
 * Where the player's bytes go besides the HTTP server: a file, or stdout for
 * a pipe into a player (`gatecast watch ... -o - | mpv -`).
 */
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';

/** What the swarm writes playback output to (the HTTP server is one too). */
export interface PlaybackSink {
  /** Bytes in stream order; rapOffset is where a decoder can start in them, or null. */
  writeSegment(bytes: Buffer, rapOffset: number | null): void;
  close(): Promise<void>;
}

export interface FileSink extends PlaybackSink {
  /** True once writing stopped for good (the reader went away, or an error). */
  readonly stopped: boolean;
  /** The error that stopped it, if any (an EPIPE on stdout is an ordinary end, not an error). */
  readonly error: Error | null;
  /** Bytes dropped because the reader fell too far behind. */
  readonly droppedBytes: number;
}

export interface FileSinkOptions {
  /** When more than this is queued for a slow reader, output is dropped and resumes at the next RAP. */
  maxQueuedBytes?: number;
  /** Called once when writing stops for good; err is null when the reader just went away. */
  onStop?: (err: Error | null) => void;
  /** Stands in for process.stdout when target is '-' (tests). */
  stdout?: Writable;
}

/** target '-' means stdout. */
export function fileSink(target: string, opts: FileSinkOptions = {}): FileSink {
  const maxQueued = opts.maxQueuedBytes ?? 16 * 1024 * 1024;
  const toStdout = target === '-';
  const stream: Writable = toStdout ? (opts.stdout ?? process.stdout) : createWriteStream(target);
  let stopped = false;
  let error: Error | null = null;
  let skipping = false;
  let droppedBytes = 0;

  const stop = (err: Error | null): void => {
    if (stopped) return;
    stopped = true;
    error = err;
    opts.onStop?.(err);
  };
  const onError = (err: NodeJS.ErrnoException): void => {
    stop(err.code === 'EPIPE' ? null : err);
  };
  stream.on('error', onError);

  return {
    get stopped() {
      return stopped;
    },
    get error() {
      return error;
    },
    get droppedBytes() {
      return droppedBytes;
    },
    writeSegment(bytes, rapOffset) {
      if (stopped || stream.destroyed) return;
      if (skipping && (stream.writableLength > maxQueued / 2 || rapOffset === null)) {
        droppedBytes += bytes.length;
        return;
      }
      if (skipping && rapOffset !== null) {
        droppedBytes += rapOffset;
        bytes = bytes.subarray(rapOffset);
        skipping = false;
      }
      if (stream.writableLength > maxQueued) {
        skipping = true;
        droppedBytes += bytes.length;
        return;
      }
      stream.write(bytes);
    },
    async close() {
      if (toStdout) {
        // stdout belongs to the process: flush what is queued, never end it.
        if (!stopped && !stream.destroyed && stream.writableLength > 0) {
          await new Promise<void>((resolve) => {
            const done = (): void => {
              stream.off('drain', done);
              stream.off('close', done);
              stream.off('error', done);
              resolve();
            };
            stream.on('drain', done).on('close', done).on('error', done);
          });
        }
        stream.off('error', onError);
        // Keep a listener so a late EPIPE can't crash the process.
        stream.on('error', () => undefined);
        stopped = true;
        return;
      }
      stopped = true;
      if (stream.destroyed) return;
      await new Promise<void>((resolve) => stream.end(resolve));
    },
  };
}
