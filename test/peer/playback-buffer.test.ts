import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PlaybackBuffer, type PlaybackSegment } from '../../src/peer/playback-buffer.js';
import type { LivePiece } from '../../src/core/piece.js';

/** Two TS packets; the payload bytes name the seq so output order is visible. */
function piece(seq: number, rapOffset: number | null = null): LivePiece {
  const payload = Buffer.alloc(376, seq & 0xff);
  return { seq, timestampMs: seq * 100, rapOffset, payload, bytes: payload };
}
const seqs = (out: PlaybackSegment[]): number[] => out.map((s) => s.seq);

test('nothing goes out before a random access point', () => {
  const b = new PlaybackBuffer({ startSeq: 10 });
  b.offer(piece(10));
  b.offer(piece(11));
  assert.deepEqual(b.drain(0, 1_000), []);
  assert.equal(b.firstByteAt, null);
});

test('output begins at the RAP offset of the first RAP piece at or after the start, then follows seq order', () => {
  const b = new PlaybackBuffer({ startSeq: 10 });
  assert.equal(b.offer(piece(9, 0)), false, 'before the start');
  b.offer(piece(10));
  b.offer(piece(13));
  b.offer(piece(12, 188));
  const out = b.drain(5_000, 1_000);
  assert.deepEqual(seqs(out), [12, 13]);
  assert.equal(out[0]?.bytes.length, 188, 'starts at the RAP inside piece 12');
  assert.equal(out[0]?.rapOffset, 0);
  assert.equal(out[1]?.bytes.length, 376);
  assert.equal(b.firstByteAt, 5_000);
  assert.equal(b.played, 2);
  assert.equal(b.missed, 0, 'pieces before the start are not missed');
  assert.equal(b.next, 14);
});

test('out-of-order arrivals are released in order once the gap fills', () => {
  const b = new PlaybackBuffer();
  b.offer(piece(0, 0));
  b.offer(piece(2));
  b.offer(piece(3));
  assert.deepEqual(seqs(b.drain(0, 1_000)), [0]);
  b.offer(piece(1));
  assert.deepEqual(seqs(b.drain(10, 1_000)), [1, 2, 3]);
  assert.equal(b.offer(piece(2)), false, 'already played');
  assert.equal(b.missed, 0);
});

test('a hole held longer than maxStallMs is skipped to the next RAP, counting what was missed', () => {
  const b = new PlaybackBuffer();
  b.offer(piece(0, 0));
  for (const s of [2, 3, 4]) b.offer(piece(s));
  b.offer(piece(5, 376 - 188));
  b.offer(piece(6));
  assert.deepEqual(seqs(b.drain(0, 1_000)), [0]);
  assert.deepEqual(seqs(b.drain(500, 1_000)), [], 'the hole at 1 opened at 0');
  assert.deepEqual(seqs(b.drain(1_000, 1_000)), [], 'not yet more than maxStallMs');
  const out = b.drain(1_001, 1_000);
  assert.deepEqual(seqs(out), [5, 6], '2..4 would decode as garbage without 1');
  assert.equal(out[0]?.bytes.length, 188);
  assert.equal(b.missed, 4);
  assert.equal(b.played, 3);
  assert.equal(b.played / (b.played + b.missed), 3 / 7);
  assert.equal(b.offer(piece(1)), false, 'too late now');
});

test('without a later RAP, the buffer keeps waiting for the hole', () => {
  const b = new PlaybackBuffer();
  b.offer(piece(0, 0));
  b.offer(piece(2));
  b.drain(0, 100);
  assert.deepEqual(b.drain(5_000, 100), []);
  b.offer(piece(1));
  assert.deepEqual(seqs(b.drain(5_001, 100)), [1, 2]);
  assert.equal(b.missed, 0);
});

test('waiting at the live edge with nothing later is not a hole', () => {
  const b = new PlaybackBuffer();
  b.offer(piece(0, 0));
  b.drain(0, 100);
  assert.deepEqual(b.drain(10_000, 100), []);
  b.offer(piece(1));
  b.offer(piece(2, 0));
  assert.deepEqual(seqs(b.drain(10_001, 100)), [1, 2], 'the stall clock only starts with a hole');
});

test('skipTo jumps ahead and resumes at the next RAP', () => {
  const b = new PlaybackBuffer();
  b.offer(piece(0, 0));
  b.drain(0, 1_000);
  for (const s of [20, 21, 22]) b.offer(piece(s, s === 22 ? 0 : null));
  b.skipTo(20);
  const out = b.drain(1, 1_000);
  assert.deepEqual(seqs(out), [22]);
  assert.equal(b.missed, 21, '1..21 were never played');
});

test('memory is bounded by maxAhead', () => {
  const b = new PlaybackBuffer({ maxAhead: 8 });
  b.offer(piece(0, 0));
  b.drain(0, 1_000);
  assert.equal(b.offer(piece(8)), true);
  assert.equal(b.offer(piece(9)), false);
  const pre = new PlaybackBuffer({ maxAhead: 4 });
  for (let s = 0; s < 100; s++) pre.offer(piece(s));
  assert.ok(pre.buffered <= 4, 'before any RAP the buffer slides instead of growing');
  pre.offer(piece(100, 0));
  assert.deepEqual(seqs(pre.drain(0, 1_000)), [100]);
});

test('with a preroll, output starts only once that many pieces from the first RAP are held in a row', () => {
  const b = new PlaybackBuffer({ startSeq: 10, preroll: 3 });
  b.offer(piece(10, 0));
  b.offer(piece(12));
  assert.deepEqual(b.drain(0, 1_000), [], 'piece 11 is missing');
  b.offer(piece(11));
  assert.deepEqual(seqs(b.drain(100, 1_000)), [10, 11, 12]);
  assert.equal(b.firstByteAt, 100);
});

test('the buffer remembers which seqs output skipped, and only those', () => {
  const b = new PlaybackBuffer({ startSeq: 10 });
  b.offer(piece(10, 0));
  b.offer(piece(11));
  b.drain(0, 1_000);
  b.skipTo(15);
  b.offer(piece(16, 0));
  assert.deepEqual(seqs(b.drain(10, 1_000)), [16]);
  assert.deepEqual([10, 11, 12, 14, 15, 16].map((s) => b.skipped(s)), [false, false, true, true, true, false]);
  assert.equal(b.missed, 4, '12 to 15');
});

test('with a minimum lead, output starts only at a RAP that far behind the live edge', () => {
  const b = new PlaybackBuffer({ startSeq: 10, minLead: 8 });
  b.offer(piece(12, 0));
  b.offer(piece(13));
  assert.deepEqual(b.drain(0, 1_000, 15), [], 'the RAP is only 3 pieces behind the edge');
  assert.deepEqual(b.drain(0, 1_000, null), [], 'no edge known: wait');
  assert.deepEqual(seqs(b.drain(100, 1_000, 20)), [12, 13]);
});
