import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveWindow } from '../../src/peer/live-window.js';
import { decodeWindow } from '../../src/peer/bitmap.js';
import type { LivePiece } from '../../src/core/piece.js';

function piece(seq: number): LivePiece {
  const payload = Buffer.alloc(188, seq & 0xff);
  return { seq, timestampMs: 1_000 + seq, rapOffset: null, payload, bytes: payload };
}

test('add keeps a piece once and get/has find it', () => {
  const w = new LiveWindow(10);
  assert.equal(w.add(piece(5)), true);
  assert.equal(w.add(piece(5)), false);
  assert.equal(w.has(5), true);
  assert.equal(w.get(5)?.seq, 5);
  assert.equal(w.get(6), undefined);
  assert.equal(w.newest, 5);
  assert.equal(w.oldest, 5);
});

test('memory stays bounded: a newer piece pushes out what falls behind the capacity', () => {
  const w = new LiveWindow(4);
  for (let s = 0; s < 100; s++) w.add(piece(s));
  assert.equal(w.size, 4);
  assert.deepEqual(w.haves(), [96, 97, 98, 99]);
  assert.equal(w.oldest, 96);
  assert.equal(w.add(piece(95)), false, 'too old for the window');
});

test('out-of-order pieces within the window are accepted', () => {
  const w = new LiveWindow(8);
  w.add(piece(20));
  assert.equal(w.add(piece(14)), true);
  assert.equal(w.add(piece(12)), false, '20 - 12 >= capacity');
  assert.deepEqual(w.haves(), [14, 20]);
});

test('evictBefore drops older pieces and refuses them afterwards', () => {
  const w = new LiveWindow(10);
  for (const s of [1, 2, 3, 4, 5]) w.add(piece(s));
  w.evictBefore(4);
  assert.deepEqual(w.haves(), [4, 5]);
  assert.equal(w.add(piece(3)), false);
  w.evictBefore(100);
  assert.equal(w.newest, null);
  assert.equal(w.oldest, null);
});

test('toWindow describes exactly the pieces held, from the oldest', () => {
  const w = new LiveWindow(30);
  for (const s of [40, 41, 43, 50]) w.add(piece(s));
  const { base, bits } = w.toWindow();
  assert.equal(base, 40);
  assert.equal(bits.length, 2);
  assert.deepEqual(decodeWindow(base, bits), [40, 41, 43, 50]);
  assert.deepEqual(new LiveWindow(3).toWindow().bits.length, 0);
});

test('capacity must be sane', () => {
  assert.throws(() => new LiveWindow(0), RangeError);
  assert.throws(() => new LiveWindow(1.5), RangeError);
});
