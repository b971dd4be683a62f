/**
 * The source's sequence reservation on disk: a small JSON file next to the
 * program's source key (`<key file>.seq.json`), written to a temporary file,
 * fsynced and renamed over the old one, so a crash at any moment leaves
 * either the old reservation or the new one, never a torn file.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { SeqState, SeqStateStore } from './seq-reservation.js';

const SeqFile = Type.Object({
  version: Type.Literal(1),
  info_hash: Type.String({ pattern: '^[0-9a-f]{40}$' }),
  reserved: Type.Integer({ minimum: 0, maximum: 2 ** 32 - 1 }),
  saved_at: Type.String(),
});
type SeqFile = Static<typeof SeqFile>;
const checkFile = TypeCompiler.Compile(SeqFile);

/** The state file that goes with a source key file. */
export function seqStatePath(sourceKeyPath: string): string {
  return `${sourceKeyPath.replace(/\.pem$/, '')}.seq.json`;
}

export class SeqStateFile implements SeqStateStore {
  constructor(readonly path: string) {}

  load(): SeqState | null {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const parsed: unknown = JSON.parse(text);
    if (!checkFile.Check(parsed)) throw new Error(`${this.path} is not a sequence state file`);
    return { infoHash: parsed.info_hash, reserved: parsed.reserved };
  }

  save(state: SeqState): void {
    const body: SeqFile = { version: 1, info_hash: state.infoHash, reserved: state.reserved, saved_at: new Date().toISOString() };
    const tmp = `${this.path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(body)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    // The rename itself must survive a crash too.
    const dir = openSync(dirname(this.path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }
}
