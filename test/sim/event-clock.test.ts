import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventClock } from '../../sim/event-clock.js';
import { Rng } from '../../sim/rng.js';
import { TrackerModel } from '../../sim/tracker-model.js';

test('timers run in time order, ties in the order set, intervals repeat, cancelled ones never run', () => {
  const clock = new EventClock();
  const t0 = clock.now();
  const log: string[] = [];
  clock.setTimeout(() => log.push(`b@${clock.now() - t0}`), 20);
  clock.setTimeout(() => log.push(`a@${clock.now() - t0}`), 10);
  clock.setTimeout(() => log.push(`a2@${clock.now() - t0}`), 10);
  const gone = clock.setTimeout(() => log.push('never'), 15);
  const every = clock.setInterval(() => log.push(`i@${clock.now() - t0}`), 8);
  gone.cancel();
  clock.setTimeout(() => every.cancel(), 17);
  clock.runUntil(t0 + 100);
  assert.deepEqual(log, ['i@8', 'a@10', 'a2@10', 'i@16', 'b@20']);
  assert.equal(clock.now(), t0 + 100);
});

test('deferred work runs after everything due at the same instant, before time moves on', () => {
  const clock = new EventClock();
  const t0 = clock.now();
  const log: string[] = [];
  clock.setTimeout(() => {
    clock.defer(() => log.push(`deferred@${clock.now() - t0}`));
    log.push('first');
  }, 5);
  clock.at(t0 + 5, () => log.push('second'));
  clock.setTimeout(() => log.push('later'), 6);
  clock.runUntil(t0 + 10);
  assert.deepEqual(log, ['first', 'second', 'deferred@5', 'later']);
});

test('a heap of 20,000 random timers runs them sorted', () => {
  const clock = new EventClock();
  const rng = new Rng(3);
  const due: number[] = [];
  const ran: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const ms = rng.int(100_000);
    due.push(ms);
    clock.setTimeout(() => ran.push(clock.now()), ms);
  }
  clock.runUntil(clock.now() + 200_000);
  const t0 = clock.now() - 200_000;
  assert.deepEqual(ran.map((t) => t - t0), due.sort((a, b) => a - b));
});

test('the seeded generator repeats per seed and differs across seeds', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const xs = Array.from({ length: 5 }, () => a.u32());
  assert.deepEqual(Array.from({ length: 5 }, () => b.u32()), xs);
  assert.notDeepEqual(Array.from({ length: 5 }, () => c.u32()), xs);
});

test('the tracker lists a random part of the swarm, never the requester, and forgets who left', () => {
  const tracker = new TrackerModel(new Rng(1));
  for (let i = 0; i < 100; i++) tracker.join({ sid: `v${i}`, peer_id: '00'.repeat(20), ip: '10.0.0.1', port: 6881 + i, role: 'viewer' });
  tracker.leave('v7');
  const list = tracker.announce('v3', 30);
  assert.equal(list.length, 30);
  assert.equal(new Set(list.map((p) => p.sid)).size, 30);
  assert.ok(!list.some((p) => p.sid === 'v3' || p.sid === 'v7'));
  assert.equal(tracker.announce('v3', 500).length, 98);
});
