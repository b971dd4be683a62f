import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { systemClock } from '../../src/protocol/system-clock.js';

test('ManualClock: timers run in time order, ties in the order they were set, intervals go on', () => {
  const c = new ManualClock(0);
  const log: string[] = [];
  c.setTimeout(() => log.push('b@20'), 20);
  c.setTimeout(() => log.push('a@10'), 10);
  c.setTimeout(() => log.push('c@10'), 10);
  const every = c.setInterval(() => log.push(`i@${c.now()}`), 15);
  c.advance(31);
  assert.deepEqual(log, ['a@10', 'c@10', 'i@15', 'b@20', 'i@30']);
  every.cancel();
  c.advance(100);
  assert.equal(log.length, 5);
  assert.equal(c.timers, 0);
});

test('ManualClock.defer: runs at the current time after the callback that deferred it, in order, on advance(0)', () => {
  const c = new ManualClock(0);
  const log: string[] = [];
  c.defer(() => {
    log.push('d1');
    c.defer(() => log.push(`d3@${c.now()}`));
  });
  c.defer(() => log.push('d2'));
  assert.equal(log.length, 0, 'nothing runs inside the caller');
  c.advance(0);
  assert.deepEqual([...log], ['d1', 'd2', 'd3@0']);
  const h = c.defer(() => log.push('cancelled'));
  h.cancel();
  c.setTimeout(() => {
    log.push('t@5');
    c.defer(() => log.push(`after-t@${c.now()}`));
  }, 5);
  c.setTimeout(() => log.push('u@6'), 6);
  c.advance(10);
  assert.deepEqual(log.slice(3), ['t@5', 'after-t@5', 'u@6']);
});

test('ManualClock: a heap of many timers still runs them in order', () => {
  const c = new ManualClock(0);
  const ran: number[] = [];
  for (let i = 0; i < 2_000; i++) {
    const at = (i * 7919) % 1_000;
    c.setTimeout(() => ran.push(at), at);
  }
  c.advance(1_000);
  assert.equal(ran.length, 2_000);
  for (let i = 1; i < ran.length; i++) assert.ok((ran[i - 1] as number) <= (ran[i] as number));
  assert.equal(c.nextAt, null);
});

test('systemClock.defer runs after the current callback, not inside it', async () => {
  const log: string[] = [];
  await new Promise<void>((resolve) => {
    systemClock.defer(() => log.push('deferred'));
    log.push('sync');
    systemClock.defer(() => resolve());
  });
  assert.deepEqual(log, ['sync', 'deferred']);
});
