/**
 * Stdin ingest: TS bytes piped in by an upstream encoder, which already paces
 * them, so they are passed on as they come.
 */
import type { Readable } from 'node:stream';
import { InternalError } from '../core/errors.js';
import type { Ingest } from './ingest.js';

export function stdinIngest(input: Readable): Ingest {
  let stopping = false;
  async function* read(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of input) {
        yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      }
    } catch (err) {
      if (!stopping) throw new InternalError('reading the stream from stdin failed', { cause: err });
    }
  }
  return {
    chunks: read(),
    stop: async () => {
      stopping = true;
      input.destroy();
    },
  };
}
