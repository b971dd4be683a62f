/**
 * An ingest fed by an ffmpeg child writing MPEG-TS to its stdout. The child
 * dies with us: on stop(), when the consumer stops reading, and when this
 * process exits. If we are killed outright, ffmpeg's next write hits a closed
 * pipe and it exits too.
 */
import { spawn } from 'node:child_process';
import { InternalError } from '../core/errors.js';
import type { Ingest } from './ingest.js';

const STDERR_KEEP = 4096;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  spawnError: Error | null;
}

/** The last few non-empty lines of ffmpeg's stderr, on one line. */
export function stderrTail(stderr: string, lines = 3): string {
  const kept = stderr.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  return kept.slice(-lines).join(' | ');
}

export function ffmpegIngest(ffmpegPath: string, args: string[], what: string): Ingest {
  const child = spawn(ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    stderr = (stderr + s).slice(-STDERR_KEEP);
  });

  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let stopping = false;
  let exitedAlready = false;
  const exited = new Promise<Exit>((resolve) => {
    child.once('error', (err) => resolve({ code: null, signal: null, spawnError: err }));
    child.once('close', (code, signal) => resolve({ code, signal, spawnError: null }));
  }).then((exit) => {
    exitedAlready = true;
    process.removeListener('exit', killOnExit);
    return exit;
  });

  const stop = async (): Promise<void> => {
    stopping = true;
    if (!exitedAlready) {
      // Closing our end of the pipe also frees an ffmpeg blocked on a full pipe.
      child.stdout.destroy();
      child.kill('SIGTERM');
    }
    await exited;
  };

  async function* read(): AsyncGenerator<Buffer> {
    let drained = false;
    try {
      for await (const chunk of child.stdout) yield chunk as Buffer;
      drained = true;
    } catch (err) {
      if (!stopping) throw new InternalError(`reading ffmpeg's output failed (${what})`, { cause: err });
    } finally {
      // The consumer left early (break/throw): the child has no reader any more.
      if (!drained) await stop();
    }
    const exit = await exited;
    if (stopping) return;
    if (exit.spawnError) throw new InternalError(`cannot run ffmpeg at ${ffmpegPath}: ${exit.spawnError.message}`);
    if (exit.code !== 0) {
      const how = exit.code === null ? `was killed by ${exit.signal ?? 'a signal'}` : `exited with code ${exit.code}`;
      const tail = stderrTail(stderr);
      throw new InternalError(`ffmpeg (${what}) ${how}${tail === '' ? '' : `: ${tail}`}`);
    }
  }

  return { chunks: read(), stop };
}
