import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket, parseRate } from '../../src/peer/token-bucket.js';
import { ClientError } from '../../src/core/errors.js';

const PIECE = 32_800;

test('over a simulated 10 s, the bytes let through are rate × 10 + burst, within one piece', () => {
  const rate = 250_000;
  const burst = 100_000;
  const b = new TokenBucket(rate, burst);
  let sent = 0;
  for (let t = 0; t <= 10_000; t += 5) {
    while (b.take(PIECE, t)) sent += PIECE;
  }
  const allowed = rate * 10 + burst;
  assert.ok(sent <= allowed, `${sent} > ${allowed}`);
  assert.ok(sent > allowed - PIECE, `${sent} too far below ${allowed}`);
});

test('waitMs says exactly when take succeeds', () => {
  const b = new TokenBucket(1_000, 1_000);
  assert.equal(b.take(1_000, 0), true);
  assert.equal(b.take(1, 0), false);
  assert.equal(b.waitMs(500, 0), 500);
  assert.equal(b.take(500, 499), false);
  assert.equal(b.waitMs(500, 499), 1);
  assert.equal(b.take(500, 500), true);
  assert.equal(b.waitMs(0, 500), 0);
});

test('a message larger than the burst passes on a full bucket and is paid back later', () => {
  const b = new TokenBucket(1_000, 500);
  assert.equal(b.take(1_500, 0), true);
  assert.equal(b.waitMs(100, 0), 1_100, 'the 1,000-byte debt plus 100 bytes at 1,000 B/s');
  assert.equal(b.take(100, 1_099), false);
  assert.equal(b.take(100, 1_100), true);
});

test('idle time refills up to the burst, not beyond', () => {
  const b = new TokenBucket(1_000, 2_000);
  assert.equal(b.take(2_000, 0), true);
  assert.equal(b.take(2_000, 60_000), true);
  assert.equal(b.take(1, 60_000), false);
});

test('a clock stepping back never mints tokens', () => {
  const b = new TokenBucket(1_000, 1_000);
  b.take(1_000, 10_000);
  assert.equal(b.take(1, 5_000), false);
  assert.equal(b.take(1, 10_000), false);
  assert.equal(b.take(1, 10_001), true);
});

test('null rate is unlimited', () => {
  const b = new TokenBucket(null);
  assert.equal(b.take(1e12, 0), true);
  assert.equal(b.waitMs(1e12, 0), 0);
});

test('the default burst always fits a whole piece', () => {
  assert.ok(new TokenBucket(10_000).burst >= PIECE);
  assert.equal(new TokenBucket(1_000_000).burst, 500_000);
});

test('a nonsense rate or burst is refused', () => {
  assert.throws(() => new TokenBucket(0), RangeError);
  assert.throws(() => new TokenBucket(-5), RangeError);
  assert.throws(() => new TokenBucket(Number.NaN), RangeError);
  assert.throws(() => new TokenBucket(100, 0), RangeError);
});

test('parseRate: plain numbers are bytes/s; a bare prefix is bits/s', () => {
  assert.equal(parseRate('250000'), 250_000);
  assert.equal(parseRate('2M'), 250_000);
  assert.equal(parseRate('500k'), 62_500);
  assert.equal(parseRate('1.5m'), 187_500);
  assert.equal(parseRate('1G'), 125_000_000);
});

test('parseRate: bit and byte units, with or without /s', () => {
  assert.equal(parseRate('2mbit'), 250_000);
  assert.equal(parseRate('2Mbit/s'), 250_000);
  assert.equal(parseRate('2 Mbps'), 250_000);
  assert.equal(parseRate('2Mb'), 250_000);
  assert.equal(parseRate('250KB/s'), 250_000);
  assert.equal(parseRate('250kB'), 250_000);
  assert.equal(parseRate('2MBps'), 2_000_000);
  assert.equal(parseRate('1MiB/s'), 1_048_576);
  assert.equal(parseRate('8kibit'), 1_024);
  assert.equal(parseRate('100bytes'), 100);
});

test('parseRate: zero and words mean unlimited', () => {
  for (const t of ['0', 'unlimited', 'Unlimited', 'none', 'off', '0k']) assert.equal(parseRate(t), null, t);
});

test('parseRate: anything else is a clear ClientError', () => {
  for (const t of ['', 'fast', '-1M', '2X', '2 Mbit/h', 'M', '1.2.3k', '2Mbitps']) {
    assert.throws(() => parseRate(t), (err: unknown) => err instanceof ClientError && err.code === 'invalid_request' && /rate/.test(err.message), t);
  }
});
