import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PlayerClock } from '../../src/peer/player-clock.js';
import { PlayoutMeter, catchUpTarget } from '../../src/peer/playout-meter.js';

/** A clock whose player starts piece 10 (source timestamp 1 000) at t = 5 000, one piece per 100 ms. */
function started(): PlayerClock {
  const clock = new PlayerClock(100);
  clock.observe(10, 1_000);
  clock.started(1_000, 5_000);
  return clock;
}
const never = (): boolean => false;

test('the player clock gives each piece its deadline from the first byte', () => {
  const clock = started();
  assert.equal(clock.deadline(10), 5_000);
  assert.equal(clock.deadline(13), 5_300);
  assert.equal(clock.playhead(5_250), 12);
  assert.equal(new PlayerClock(100).deadline(10), null, 'no deadline before playback starts');
  assert.equal(clock.behindMs, 4_000, 'the player shows what the source made 4 s ago');
  clock.stalled(250);
  assert.equal(clock.behindMs, 4_250, 'a stall adds to it');
});

test('pieces that arrived by their deadline are on time; nothing is judged before it is due', () => {
  const clock = started();
  const m = new PlayoutMeter(clock);
  for (let s = 10; s <= 14; s++) m.arrived(s, 4_900);
  m.update(5_250, 10, never);
  assert.deepEqual([m.onTime, m.late], [3, 0], 'pieces 10, 11, 12 are due by 5 250');
  m.update(5_400, 10, never);
  assert.deepEqual([m.onTime, m.late, m.continuity], [5, 0, 1]);
});

test('a piece held when playback started is on time, even if the estimated interval puts its deadline a little earlier', () => {
  // The interval estimate was 0.5 ms long: piece 12's deadline comes out 1 ms before the start.
  const clock = new PlayerClock(100.5);
  clock.observe(14, 1_400);
  clock.started(1_200, 5_000);
  assert.ok((clock.deadline(12) ?? 0) < 5_000);
  const m = new PlayoutMeter(clock);
  m.arrived(12, 5_000);
  m.arrived(13, 5_000);
  m.update(5_000, 12, never);
  m.arrived(14, 5_230); // due 5 200
  m.update(5_250, 12, never);
  assert.deepEqual([m.onTime, m.late], [2, 1], 'pieces 12 and 13 were there at the start; 14 came after its deadline');
  assert.equal(m.stalledMs, 30);
});

test('a late piece counts once and stalls the player: later deadlines move by the wait', () => {
  const clock = started();
  const m = new PlayoutMeter(clock);
  m.arrived(10, 4_900);
  m.update(5_150, 10, never); // 10 on time; 11 (due 5 100) is missing: the player waits
  assert.deepEqual([m.onTime, m.late], [1, 0]);
  m.update(5_180, 10, never);
  m.arrived(11, 5_200);
  m.arrived(12, 5_200);
  m.update(5_200, 10, never);
  assert.deepEqual([m.onTime, m.late], [1, 1], 'the piece waited on is late even though it arrived at the rebased deadline');
  assert.equal(m.stalledMs, 100, 'the player waited from 5 100 to 5 200');
  assert.equal(clock.deadline(12), 5_300, 'piece 12 is now due 100 ms later than first planned');
  m.update(5_300, 10, never);
  assert.deepEqual([m.onTime, m.late], [2, 1]);
  assert.equal(m.continuity, 2 / 3);
});

test('a piece that arrives after its deadline between two updates stalls by exactly its delay', () => {
  const clock = started();
  const m = new PlayoutMeter(clock);
  m.arrived(10, 4_900);
  m.arrived(11, 5_130); // due 5 100
  m.update(5_200, 10, never);
  assert.deepEqual([m.onTime, m.late], [1, 1]);
  assert.equal(m.stalledMs, 30);
  assert.equal(clock.deadline(12), 5_230);
});

test('a piece output skipped is late and the player does not wait for it', () => {
  const clock = started();
  const m = new PlayoutMeter(clock);
  m.arrived(10, 4_900);
  m.arrived(12, 4_900);
  m.update(5_250, 10, (seq) => seq === 11);
  assert.deepEqual([m.onTime, m.late], [2, 1]);
  assert.equal(m.stalledMs, 0);
  assert.equal(clock.deadline(12), 5_200);
});

test('pieces before the first one played are never judged', () => {
  const clock = started();
  const m = new PlayoutMeter(clock);
  m.arrived(8, 4_000);
  m.arrived(9, 4_000);
  m.arrived(10, 4_000);
  m.update(5_000, 10, never);
  assert.deepEqual([m.onTime, m.late], [1, 0]);
  assert.equal(new PlayoutMeter(new PlayerClock(100)).continuity, 1, 'continuity is 1 before anything is due');
});

test('a piece output skipped counts as late even if it had arrived', () => {
  const clock = started();
  const m = new PlayoutMeter(clock);
  m.arrived(10, 4_900);
  m.arrived(11, 4_900);
  m.update(5_150, 10, (seq) => seq === 11);
  assert.deepEqual([m.onTime, m.late], [1, 1]);
});

test('catch-up: a player more than catchUpMs behind jumps to the start lag behind the edge', () => {
  const base = { edge: 200, next: 150, intervalMs: 100, catchUpMs: 4_000, startLagMs: 1_000 };
  assert.equal(catchUpTarget({ ...base, behindMs: 3_900 }), null, 'close enough');
  assert.equal(catchUpTarget({ ...base, behindMs: 5_000 }), 190);
  assert.equal(catchUpTarget({ ...base, behindMs: 5_000, next: 195 }), null, 'already nearer than the target');
  const clock = started();
  clock.skipped(1_000);
  assert.equal(clock.behindMs, 3_000, 'a skip brings the player that much closer to live');
});
