import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusLine, formatBitRate, formatStatus } from '../../src/peer/status-line.js';

test('formatStatus puts the viewer state on one line', () => {
  const line = formatStatus({ peers: 5, downBps: 2_100_000, upBps: 4_000_000, bufferS: 1.234, peerShare: 0.931, onTime: 100, late: 0 });
  assert.equal(line, 'peers 5 | down 2.1 Mbit/s | up 4.0 Mbit/s | buffer 1.2 s | from peers 93% | continuity 100.0%');
});

test('formatStatus before anything is known says so', () => {
  const line = formatStatus({ peers: 0, downBps: 0, upBps: 0, bufferS: 0, peerShare: null, onTime: 0, late: 0 });
  assert.equal(line, 'peers 0 | down 0 bit/s | up 0 bit/s | buffer 0.0 s | from peers -- | continuity --');
  assert.match(formatStatus({ peers: 1, downBps: 0, upBps: 0, bufferS: 0, peerShare: 0, onTime: 999, late: 1 }), /continuity 99\.9%$/);
});

test('formatBitRate picks the unit', () => {
  assert.equal(formatBitRate(999), '999 bit/s');
  assert.equal(formatBitRate(64_000), '64.0 kbit/s');
  assert.equal(formatBitRate(1_500_000_000), '1.5 Gbit/s');
});

test('StatusLine rewrites one line on a terminal and fits its width', () => {
  const written: string[] = [];
  const s = new StatusLine({ isTTY: true, columns: 10, write: (t: string) => written.push(t) });
  s.update('hello');
  s.update('a much longer line');
  s.clear();
  assert.deepEqual(written, ['\r\x1b[2Khello', '\r\x1b[2Ka much lo', '\r\x1b[2K']);
});

test('StatusLine is quiet when output is not a terminal', () => {
  const written: string[] = [];
  const s = new StatusLine({ isTTY: false, write: (t: string) => written.push(t) });
  s.update('hello');
  s.clear();
  assert.equal(s.enabled, false);
  assert.deepEqual(written, []);
});
