import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_WINDOW_BITS, decodeWindow, encodeWindow } from '../../src/peer/bitmap.js';
import { ProtocolError } from '../../src/core/errors.js';

test('bits are most significant first: bit i is piece base + i', () => {
  const bits = encodeWindow(100, [100, 107, 108], 10);
  assert.deepEqual([...bits], [0b1000_0001, 0b1000_0000]);
  assert.deepEqual(decodeWindow(100, bits), [100, 107, 108]);
});

test('seqs outside the window are left out and spare bits stay zero', () => {
  const bits = encodeWindow(10, [9, 10, 12, 13, 99], 3);
  assert.equal(bits.length, 1);
  assert.deepEqual(decodeWindow(10, bits), [10, 12]);
});

test('an empty window round-trips', () => {
  assert.equal(encodeWindow(5, [], 0).length, 0);
  assert.deepEqual(decodeWindow(5, Buffer.alloc(0)), []);
});

test('decode refuses a bad base or an oversized window with a ProtocolError', () => {
  assert.throws(() => decodeWindow(-1, Buffer.alloc(1)), ProtocolError);
  assert.throws(() => decodeWindow(1.5, Buffer.alloc(1)), ProtocolError);
  assert.throws(() => decodeWindow(0, Buffer.alloc(MAX_WINDOW_BITS / 8 + 1)), /larger than/);
  assert.throws(() => decodeWindow(Number.MAX_SAFE_INTEGER - 3, Buffer.alloc(1)), /past the largest/);
});

test('encode refuses a length it could not send', () => {
  assert.throws(() => encodeWindow(0, [], MAX_WINDOW_BITS + 1), RangeError);
  assert.throws(() => encodeWindow(-2, [], 1), RangeError);
});
