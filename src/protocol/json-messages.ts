/**
 * Parsing of JSON text frames against a TypeBox schema: the one door through
 * which every WebSocket message enters. A bad frame is a ProtocolError with a
 * specific message, never a crash.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ProtocolError } from '../core/errors.js';

export interface MessageCodec<T extends TSchema> {
  parse(data: unknown): Static<T>;
  encode(msg: Static<T>): string;
}

export const MAX_JSON_FRAME = 64 * 1024;

export function jsonCodec<T extends TSchema>(schema: T, what: string): MessageCodec<T> {
  const check = TypeCompiler.Compile(schema);
  return {
    parse(data) {
      let text: string;
      if (typeof data === 'string') text = data;
      else if (Buffer.isBuffer(data)) text = data.toString('utf8');
      else if (Array.isArray(data)) text = Buffer.concat(data as Buffer[]).toString('utf8');
      else if (data instanceof ArrayBuffer) text = Buffer.from(data).toString('utf8');
      else throw new ProtocolError(`${what}: unsupported frame`);
      if (text.length > MAX_JSON_FRAME) throw new ProtocolError(`${what}: frame over ${MAX_JSON_FRAME} bytes`);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new ProtocolError(`${what}: frame is not JSON`);
      }
      if (!check.Check(value)) {
        const first = check.Errors(value).First();
        const where = first ? `${first.path || '/'}: ${first.message}` : 'does not match the schema';
        throw new ProtocolError(`${what}: bad message (${where})`);
      }
      return value;
    },
    encode: (msg) => JSON.stringify(msg),
  };
}
