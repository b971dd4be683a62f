import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { fileSink } from '../../src/peer/playback-sinks.js';

test('fileSink writes segments to a file in order', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gatecast-sink-'));
  try {
    const path = join(dir, 'out.ts');
    const sink = fileSink(path);
    sink.writeSegment(Buffer.from('one,'), 0);
    sink.writeSegment(Buffer.from('two,'), null);
    sink.writeSegment(Buffer.from('three'), null);
    await sink.close();
    assert.equal(await readFile(path, 'utf8'), 'one,two,three');
    assert.equal(sink.stopped, true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('fileSink reports an unwritable path instead of crashing', async () => {
  const stopped = new Promise<Error | null>((resolve) => {
    fileSink('/nonexistent-dir/x/out.ts', { onStop: resolve });
  });
  const err = await stopped;
  assert.match(String(err), /ENOENT/);
});

test('a reader too far behind loses output, which resumes at the next RAP', async () => {
  const got: Buffer[] = [];
  let release: (() => void) | null = null;
  const slow = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _enc, cb) {
      got.push(chunk);
      release = cb;
    },
  });
  const sink = fileSink('-', { stdout: slow, maxQueuedBytes: 10 });
  sink.writeSegment(Buffer.from('AAAA'), 0); // in the writer
  sink.writeSegment(Buffer.from('BBBBBBBBBBB'), null); // queued: 11 bytes
  sink.writeSegment(Buffer.from('CCCC'), null); // over the cap: dropped
  sink.writeSegment(Buffer.from('DDDD'), 0); // still over: dropped
  assert.equal(sink.droppedBytes, 8);
  for (let i = 0; i < 2; i++) {
    const r = release as (() => void) | null;
    release = null;
    r?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  sink.writeSegment(Buffer.from('EEEE'), null); // drained, but no RAP: dropped
  sink.writeSegment(Buffer.from('xxFF'), 2); // resumes at the RAP
  const r = release as (() => void) | null;
  r?.();
  assert.equal(Buffer.concat(got).toString(), 'AAAABBBBBBBBBBBFF');
  assert.equal(sink.droppedBytes, 14);
});

test('stdout: when the player quits (EPIPE) the sink stops quietly and the process carries on', async () => {
  const script = `
    import { fileSink } from './src/peer/playback-sinks.ts';
    const sink = fileSink('-', { onStop: (err) => { console.error('stopped', err === null ? 'cleanly' : err.message); setTimeout(() => process.exit(0), 50); } });
    const chunk = Buffer.alloc(188 * 174, 0x47);
    const tick = () => { if (!sink.stopped) { sink.writeSegment(chunk, 0); setImmediate(tick); } };
    tick();
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: new URL('../../', import.meta.url),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  await once(child.stdout, 'data');
  child.stdout.destroy();
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, stderr);
  assert.match(stderr, /stopped cleanly/);
});
