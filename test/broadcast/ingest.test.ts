import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { InternalError } from '../../src/core/errors.js';
import { openIngest, type Ingest } from '../../src/broadcast/ingest.js';
import { makeTestClip } from '../helpers/ffmpeg.js';

let dir = '';
let clip = '';
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatecast-ingest-'));
  clip = join(dir, 'clip.ts');
  await makeTestClip(clip, 1, 600_000);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Reads until `bytes` have arrived (then stops the ingest) or the stream ends. */
async function readAtLeast(ingest: Ingest, bytes: number): Promise<number> {
  let total = 0;
  for await (const chunk of ingest.chunks) {
    total += chunk.length;
    if (total >= bytes) break;
  }
  return total;
}

test('a missing or unreadable file is a clear error before anything starts', () => {
  const missing = join(dir, 'missing.ts');
  assert.throws(() => openIngest({ kind: 'file', path: missing }), (err: unknown) => {
    return err instanceof InternalError && err.message.startsWith(`cannot read ${missing}: `) && /ENOENT/.test(err.message);
  });
  assert.throws(() => openIngest({ kind: 'file', path: dir }), new RegExp(`cannot read ${dir}: not a regular file`));
});

test('a file ffmpeg cannot read fails with ffmpeg\'s own words', async () => {
  const junk = join(dir, 'junk.ts');
  writeFileSync(junk, 'this is not a video\n'.repeat(10));
  const ingest = openIngest({ kind: 'file', path: junk });
  await assert.rejects(readAtLeast(ingest, Infinity), (err: unknown) => {
    return err instanceof InternalError && /^ffmpeg \(file .*junk\.ts\) exited with code \d+: .*Invalid data/.test(err.message);
  });
});

test('a file is replayed in real time and looped', async () => {
  const size = statSync(clip).size;
  const ingest = openIngest({ kind: 'file', path: clip });
  const started = Date.now();
  const got = await readAtLeast(ingest, Math.ceil(size * 1.5));
  const elapsed = Date.now() - started;
  await ingest.stop();
  assert.ok(got >= size * 1.5, 'more bytes than the file holds: it loops');
  assert.ok(elapsed >= 700, `paced at the file's bitrate, not as fast as possible (${elapsed} ms)`);
});

test('the test pattern flows until stopped, and the iterator then ends quietly', async () => {
  const ingest = openIngest({ kind: 'test-pattern', bitrateBps: 400_000 });
  let total = 0;
  for await (const chunk of ingest.chunks) {
    total += chunk.length;
    if (total >= 10_000) await ingest.stop();
  }
  assert.ok(total >= 10_000);
  assert.equal(total % 188, 0, 'whole TS packets');
  await ingest.stop(); // twice is fine
});

test('an abort signal stops the ingest', async () => {
  const ac = new AbortController();
  const ingest = openIngest({ kind: 'test-pattern', bitrateBps: 400_000 }, { signal: ac.signal });
  let total = 0;
  for await (const chunk of ingest.chunks) {
    total += chunk.length;
    ac.abort();
  }
  assert.ok(total > 0);
});

test('ffmpeg dying mid-stream makes the iterator throw its last stderr line', async () => {
  const fake = join(dir, 'crashing-ffmpeg');
  writeFileSync(fake, '#!/bin/sh\nhead -c 376 /dev/zero\necho "first complaint" >&2\necho "encoder exploded" >&2\nexit 3\n');
  chmodSync(fake, 0o755);
  const ingest = openIngest({ kind: 'test-pattern', bitrateBps: 400_000 }, { ffmpegPath: fake });
  let total = 0;
  await assert.rejects(
    (async () => {
      for await (const chunk of ingest.chunks) total += chunk.length;
    })(),
    (err: unknown) => err instanceof InternalError && /exited with code 3: .*encoder exploded$/.test(err.message),
  );
  assert.equal(total, 376);
});

test('a missing ffmpeg binary is a clear error', async () => {
  const ingest = openIngest({ kind: 'test-pattern', bitrateBps: 400_000 }, { ffmpegPath: join(dir, 'no-such-ffmpeg') });
  await assert.rejects(readAtLeast(ingest, Infinity), /cannot run ffmpeg at .*no-such-ffmpeg: .*ENOENT/);
});

test('stdin passes bytes through as they come and ends with its input', async () => {
  const input = new PassThrough();
  const ingest = openIngest({ kind: 'stdin' }, { stdin: input });
  input.write(Buffer.alloc(188, 0x47));
  input.end(Buffer.alloc(100, 1));
  const chunks: Buffer[] = [];
  for await (const c of ingest.chunks) chunks.push(c);
  assert.equal(Buffer.concat(chunks).length, 288);
});

test('stopping a stdin ingest ends its iterator', async () => {
  const input = new PassThrough();
  const ingest = openIngest({ kind: 'stdin' }, { stdin: input });
  input.write(Buffer.alloc(10));
  let n = 0;
  for await (const c of ingest.chunks) {
    n += c.length;
    await ingest.stop();
  }
  assert.equal(n, 10);
});
