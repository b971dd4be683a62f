import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { TokenBucket } from '../../src/peer/token-bucket.js';
import { Uploader, relayPriority, type UploadRequest, type UploadTarget } from '../../src/peer/uploader.js';

function target(key: string, log: Array<[string, number]>): UploadTarget {
  return { key, writable: () => true, send: (req) => (log.push([key, req.seq]), true) };
}

test('within the cap: a block leaves only when the bucket holds its bytes, lowest priority value first across peers', () => {
  const clock = new ManualClock();
  const log: Array<[string, number]> = [];
  // 1000 bytes/s with room for one 500-byte block: one block every 500 ms.
  const up = new Uploader({ bucket: new TokenBucket(1_000, 500), clock, block: (r) => Buffer.alloc(r.length), priority: (r) => r.seq });
  const a = target('a', log);
  const b = target('b', log);
  for (const seq of [1, 2, 3]) up.enqueue(a, { seq, begin: 0, length: 500 });
  for (const seq of [7, 8]) up.enqueue(b, { seq, begin: 0, length: 500 });
  assert.deepEqual(log, [['a', 1]]);
  clock.advance(499);
  assert.equal(log.length, 1, 'nothing before the bucket refills');
  clock.advance(2_001);
  assert.deepEqual(log, [['a', 1], ['a', 2], ['a', 3], ['b', 7], ['b', 8]]);
  assert.equal(up.uploaded, 2_500);
});

test('with a priority (the source: copies already sent), every new piece leaves once before any leaves twice', () => {
  const clock = new ManualClock();
  const log: Array<[string, number]> = [];
  const sent = new Map<number, number>();
  const up = new Uploader({
    bucket: new TokenBucket(100, 100),
    clock,
    block: (r: UploadRequest) => {
      sent.set(r.seq, (sent.get(r.seq) ?? 0) + 1);
      return Buffer.alloc(r.length);
    },
    priority: (r) => (sent.get(r.seq) ?? 0) * 1e10 + r.seq,
  });
  const a = target('a', log);
  const b = target('b', log);
  const c = target('c', log);
  // The bucket is empty after the first block; the rest wait and are then served by priority.
  up.enqueue(a, { seq: 10, begin: 0, length: 100 });
  up.enqueue(b, { seq: 10, begin: 0, length: 100 });
  up.enqueue(c, { seq: 10, begin: 0, length: 100 });
  up.enqueue(c, { seq: 11, begin: 0, length: 100 });
  clock.advance(3_000);
  // Piece 11 (never sent) jumps ahead of the second and third copies of piece 10.
  assert.deepEqual(log.map(([, seq]) => seq), [10, 11, 10, 10]);
});

test('relay order: a copy already started to a peer is finished before another copy of the same piece begins', () => {
  const clock = new ManualClock();
  const log: Array<[string, number, number]> = [];
  const copies = new Map<number, number>();
  const started = new Map<string, number>();
  const up = new Uploader({
    bucket: new TokenBucket(1_000, 500),
    clock,
    block: (r, key) => {
      if (r.begin === 0) {
        copies.set(r.seq, (copies.get(r.seq) ?? 0) + 1);
        started.set(key, r.seq);
      }
      return Buffer.alloc(r.length);
    },
    priority: (r, key) => relayPriority(r, copies.get(r.seq) ?? 0, started.get(key) === r.seq),
  });
  const t = (key: string): UploadTarget => ({ key, writable: () => true, send: (r) => (log.push([key, r.seq, r.begin]), true) });
  const a = t('a');
  const b = t('b');
  up.enqueue(a, { seq: 5, begin: 0, length: 500 });
  up.enqueue(b, { seq: 5, begin: 0, length: 500 });
  up.enqueue(a, { seq: 5, begin: 500, length: 500 });
  up.enqueue(b, { seq: 5, begin: 500, length: 500 });
  clock.advance(2_000);
  assert.deepEqual(log, [['a', 5, 0], ['a', 5, 500], ['b', 5, 0], ['b', 5, 500]], 'a gets a whole copy first and can relay it');
});

test('relay order: the piece sent fewest times goes first, then the oldest', () => {
  const req = (seq: number): UploadRequest => ({ seq, begin: 0, length: 1 });
  const order = [
    { seq: 9, copies: 2 },
    { seq: 12, copies: 0 },
    { seq: 10, copies: 0 },
    { seq: 3, copies: 1 },
  ].sort((x, y) => relayPriority(req(x.seq), x.copies, false) - relayPriority(req(y.seq), y.copies, false));
  assert.deepEqual(order.map((x) => x.seq), [10, 12, 3, 9]);
});
