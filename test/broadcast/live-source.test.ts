import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/core/clock.js';
import { decodePiece, type LivePiece } from '../../src/core/piece.js';
import { systemClock } from '../../src/protocol/system-clock.js';
import { openIngest } from '../../src/broadcast/ingest.js';
import { LiveSource, defaultFirstSeq, SEQ_EPOCH_MS } from '../../src/broadcast/live-source.js';
import { NULL_PACKET } from '../../src/broadcast/ts-packets.js';
import { makeTestClip } from '../helpers/ffmpeg.js';
import { FakeIngest } from './fake-ingest.js';
import { VIDEO_PID, pesData, pesStart, tables } from './ts-builder.js';

const P = 188;
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const infoHash = Buffer.alloc(20, 7);

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatecast-live-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function packets(n: number): Buffer {
  return Buffer.concat(Array.from({ length: n }, (_, i) => pesData(VIDEO_PID, i)));
}

function setup(opts: { maxPieceWaitMs?: number; firstSeq?: number } = {}): { clock: ManualClock; ingest: FakeIngest; source: LiveSource; pieces: LivePiece[] } {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const ingest = new FakeIngest();
  const source = new LiveSource({ ingest, packetsPerPiece: 10, infoHash, sourceKey: privateKey, clock, ...opts });
  const pieces: LivePiece[] = [];
  source.on('piece', (p) => pieces.push(p));
  return { clock, ingest, source, pieces };
}

test('full pieces are signed and emitted in order from a clock-based first sequence number', async () => {
  const { clock, ingest, source, pieces } = setup();
  const first = defaultFirstSeq(clock.now());
  assert.equal(first, Math.floor((clock.now() - SEQ_EPOCH_MS) / 100));
  assert.ok(first > 0 && first < 2 ** 32);
  source.start();
  ingest.push(Buffer.concat([...tables(), pesStart(VIDEO_PID, true), packets(7)]));
  ingest.push(packets(20));
  await ingest.idle();
  assert.deepEqual(pieces.map((p) => p.seq), [first, first + 1, first + 2]);
  for (const p of pieces) assert.deepEqual(decodePiece(p.bytes, p.seq, infoHash, publicKey).payload, p.payload);
  assert.equal(pieces[0]!.rapOffset, 0);
  assert.equal(pieces[0]!.timestampMs, clock.now());
  assert.equal(clock.timers, 0, 'no partial piece, no timer');
  assert.deepEqual(source.stats, { pieces: 3, paddedPieces: 0, ingestBytes: 30 * P, pieceBytes: 3 * (88 + 10 * P), droppedBytes: 0, lastSeq: first + 2 });
  await source.stop();
});

test('a partial piece goes out padded after maxPieceWaitMs, not before', async () => {
  const { clock, ingest, source, pieces } = setup({ maxPieceWaitMs: 500, firstSeq: 5 });
  source.start();
  ingest.push(packets(4));
  await ingest.idle();
  clock.advance(300);
  ingest.push(packets(2)); // more data that doesn't complete the piece doesn't restart the wait
  await ingest.idle();
  clock.advance(199);
  assert.equal(pieces.length, 0);
  clock.advance(1);
  assert.equal(pieces.length, 1);
  const piece = decodePiece(pieces[0]!.bytes, 5, infoHash, publicKey);
  assert.deepEqual(piece.payload.subarray(0, 6 * P), Buffer.concat([packets(4), packets(2)]));
  for (let i = 6; i < 10; i++) assert.deepEqual(piece.payload.subarray(i * P, (i + 1) * P), NULL_PACKET);
  assert.equal(piece.timestampMs, clock.now());
  assert.equal(source.stats.paddedPieces, 1);
  clock.advance(10_000);
  assert.equal(pieces.length, 1, 'nothing pending, nothing flushed');
  await source.stop();
});

test('completing a piece in time cancels the wait', async () => {
  const { clock, ingest, source, pieces } = setup({ firstSeq: 0 });
  source.start();
  ingest.push(packets(6));
  await ingest.idle();
  clock.advance(400);
  ingest.push(packets(4));
  await ingest.idle();
  assert.equal(pieces.length, 1);
  assert.equal(clock.timers, 0);
  clock.advance(1_000);
  assert.deepEqual(pieces.map((p) => p.seq), [0]);
  await source.stop();
});

test('garbage in the feed is counted, not fatal', async () => {
  const { ingest, source, pieces } = setup({ firstSeq: 0 });
  source.start();
  ingest.push(Buffer.concat([Buffer.from('garbage!'), packets(10)]));
  await ingest.idle();
  assert.equal(pieces.length, 1);
  assert.equal(source.stats.droppedBytes, 8);
  await source.stop();
});

test('an ingest failure is an error event; an ingest end flushes and ends', async () => {
  {
    const { ingest, source } = setup();
    const failed = new Promise<Error>((resolve) => source.once('error', resolve));
    source.start();
    ingest.fail(new Error('ffmpeg (test pattern) exited with code 1: boom'));
    assert.match((await failed).message, /boom/);
    await source.stop();
  }
  {
    const { ingest, source, pieces } = setup({ firstSeq: 0 });
    const ended = new Promise<void>((resolve) => source.once('end', resolve));
    source.start();
    ingest.push(packets(13));
    ingest.end();
    await ended;
    assert.deepEqual(pieces.map((p) => p.seq), [0, 1]);
  }
});

test('after stop() nothing more is emitted and the ingest is stopped', async () => {
  const { clock, ingest, source, pieces } = setup();
  source.start();
  ingest.push(packets(3));
  await ingest.idle();
  await source.stop();
  assert.ok(ingest.stopped);
  clock.advance(5_000);
  assert.equal(pieces.length, 0);
  assert.equal(clock.timers, 0);
  assert.throws(() => source.start(), /already started/);
});

test('bad keys and info hashes are refused', () => {
  const ingest = new FakeIngest();
  const clock = new ManualClock();
  assert.throws(() => new LiveSource({ ingest, packetsPerPiece: 10, infoHash: Buffer.alloc(19), sourceKey: privateKey, clock }), /info hash is 20 bytes/);
  assert.throws(() => new LiveSource({ ingest, packetsPerPiece: 10, infoHash, sourceKey: publicKey, clock }), /Ed25519 private key/);
});

test('a file ingest feeds signed pieces at about real time', async () => {
  const clip = join(dir, 'clip.ts');
  await makeTestClip(clip, 3, 1_000_000);
  const source = new LiveSource({
    ingest: openIngest({ kind: 'file', path: clip }),
    packetsPerPiece: 174,
    infoHash,
    sourceKey: privateKey,
    clock: systemClock,
  });
  const want = 8; // ≈ 2 s of a 1 Mbit/s stream at 174 × 188 bytes a piece
  const pieces: LivePiece[] = [];
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    source.on('error', reject);
    source.on('piece', (p) => {
      pieces.push(p);
      if (pieces.length === want) resolve();
    });
    source.start();
  });
  const elapsed = Date.now() - started;
  await source.stop();
  assert.ok(elapsed > 800, `pieces come at the stream's pace, not all at once (${elapsed} ms for ${want})`);
  assert.ok(elapsed < 10_000, `and without long stalls (${elapsed} ms)`);
  const first = pieces[0]!.seq;
  pieces.forEach((p, i) => {
    assert.equal(p.seq, first + i);
    assert.equal(decodePiece(p.bytes, p.seq, infoHash, publicKey).payload.length, 174 * P);
  });
  assert.ok(pieces.some((p) => p.rapOffset !== null));
  assert.equal(source.stats.droppedBytes, 0);
});
