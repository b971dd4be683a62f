import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeqSet } from '../../src/peer/seq-set.js';

/** A small seeded generator (mulberry32), so a failure repeats. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Drives a SeqSet and a Set<number> with the same operations and asserts every answer matches. */
function compare(seed: number, span: number, steps: number, next: (r: () => number, hi: number) => number): void {
  const r = rng(seed);
  const mine = new SeqSet(span);
  const ref = new Set<number>();
  let hi = 0;
  for (let i = 0; i < steps; i++) {
    const seq = next(r, hi);
    if (Number.isSafeInteger(seq) && seq > hi) hi = seq;
    mine.add(seq);
    ref.add(seq);
    assert.equal(mine.size, ref.size, `size after add(${seq}), step ${i}`);
    for (const q of [seq, seq - 1, seq + 1, hi - span, hi - span + 1, hi - Math.floor(r() * 3 * span), -seq, seq + 0.5]) {
      assert.equal(mine.has(q), ref.has(q), `has(${q}) after add(${seq}), step ${i}, hi ${hi}`);
    }
    if (r() < 0.002) {
      mine.clear();
      ref.clear();
      assert.equal(mine.size, 0);
    }
  }
}

test('answers as a Set<number> does for haves nearly in order, with gaps and repeats', () => {
  compare(1, 64, 20_000, (r, hi) => Math.max(0, hi + Math.floor(r() * 4) - 1));
});

test('answers as a Set<number> does for jumps past the ring, old seqs, negatives and fractions', () => {
  compare(2, 32, 20_000, (r, hi) => {
    const x = r();
    if (x < 0.02) return hi + 32 + Math.floor(r() * 100);
    if (x < 0.1) return Math.floor(r() * (hi + 1));
    if (x < 0.12) return -Math.floor(r() * 5) - 1;
    if (x < 0.14) return hi + 0.5;
    if (x < 0.15) return 2 ** 53 + 2;
    return hi + Math.floor(r() * 3);
  });
});

test('a member that falls behind the ring is still a member, and clear forgets everything', () => {
  const s = new SeqSet(32);
  s.add(3);
  s.add(10);
  s.add(1_000);
  assert.equal(s.has(3), true);
  assert.equal(s.has(10), true);
  assert.equal(s.has(4), false);
  assert.equal(s.size, 3);
  s.add(10);
  assert.equal(s.size, 3);
  s.clear();
  assert.equal(s.size, 0);
  assert.equal(s.has(1_000), false);
  assert.equal(s.has(3), false);
});

test('the span must be a power of two of at least 32', () => {
  assert.throws(() => new SeqSet(48), RangeError);
  assert.throws(() => new SeqSet(16), RangeError);
});
