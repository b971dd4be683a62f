import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Choker, type ChokerPeer } from '../../src/peer/choker.js';

const peer = (key: string, rate = 0, o: Partial<ChokerPeer> = {}): ChokerPeer => ({
  key,
  interested: true,
  downloadedFromThemRate: rate,
  isSource: false,
  ...o,
});
const sorted = (s: Set<string>): string[] => [...s].sort();

test('with no more interested peers than slots, every interested peer is unchoked', () => {
  const c = new Choker();
  const got = c.decide([peer('a'), peer('b'), peer('c', 0, { interested: false })], 4, 0);
  assert.deepEqual(sorted(got), ['a', 'b']);
});

test('the source never takes a slot', () => {
  const c = new Choker();
  assert.deepEqual(sorted(c.decide([peer('src', 1e6, { isSource: true }), peer('a')], 4, 0)), ['a']);
});

test('no slots, no uploads', () => {
  assert.equal(new Choker().decide([peer('a')], 0, 0).size, 0);
});

test('regular slots go to the peers that give us the most, plus one optimistic slot', () => {
  const c = new Choker();
  const peers = [peer('a', 100), peer('b', 500), peer('c', 300), peer('d', 0), peer('e', 0)];
  const got = c.decide(peers, 3, 0);
  assert.equal(got.size, 3);
  assert.ok(got.has('b') && got.has('c'), 'the two best givers');
  assert.ok(c.optimisticPeer !== null && ['a', 'd', 'e'].includes(c.optimisticPeer));
  assert.ok(got.has(c.optimisticPeer));
});

test('the optimistic slot holds for the interval, then rotates through every other peer', () => {
  const c = new Choker({ optimisticIntervalMs: 3_000 });
  const peers = [peer('a', 900), peer('b', 0), peer('c', 0), peer('d', 0)];
  const seen: string[] = [];
  let t = 0;
  for (let round = 0; round < 3; round++) {
    const first = c.optimisticPeer;
    c.decide(peers, 2, t);
    const opt = c.optimisticPeer;
    assert.ok(opt !== null && opt !== 'a');
    assert.notEqual(opt, first);
    c.decide(peers, 2, t + 2_999);
    assert.equal(c.optimisticPeer, opt, 'kept within the interval');
    seen.push(opt);
    t += 3_000;
  }
  assert.deepEqual(seen.sort(), ['b', 'c', 'd'], 'each waiting peer gets a turn');
});

for (const how of ['leaves', 'loses interest'] as const) {
  test(`the optimistic peer is replaced at once, within its interval, if it ${how}`, () => {
    const c = new Choker({ optimisticIntervalMs: 3_000 });
    // Two slots for four: a regular one for a, the optimistic one for one of b, c, d.
    const peers = [peer('a', 900), peer('b'), peer('c'), peer('d')];
    c.decide(peers, 2, 0);
    const opt = c.optimisticPeer;
    assert.ok(opt !== null && opt !== 'a');
    const after = how === 'leaves' ? peers.filter((p) => p.key !== opt) : peers.map((p) => (p.key === opt ? { ...p, interested: false } : p));
    const got = c.decide(after, 2, 10);
    const next = c.optimisticPeer;
    assert.ok(next !== null && next !== opt && next !== 'a', `a new optimistic peer at once (was ${opt}, now ${String(next)})`);
    assert.deepEqual(sorted(got), sorted(new Set(['a', next])));
  });
}

test('on equal rates the peers already unchoked keep their regular slots', () => {
  const c = new Choker();
  const peers = [peer('a'), peer('b'), peer('c'), peer('d'), peer('e')];
  const first = c.decide(peers, 3, 0);
  const second = c.decide([...peers].reverse(), 3, 1_000);
  assert.deepEqual(sorted(second), sorted(first));
});

/** A small seeded generator (mulberry32), so the test is the same every run. */
const seeded = (seed: number) => (): number => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
};

test("ties go by each choker's own random ranks, not by id: no newcomer comes last at every peer", () => {
  // Twenty peers each see the same ten newcomers, none of which has sent anything, with three slots.
  const newcomers = Array.from({ length: 10 }, (_, i) => peer(`n${i}`));
  const firstChoice = new Map<string, number>();
  let lastKeyServed = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const c = new Choker({ random: seeded(seed) });
    const got = c.decide(newcomers, 3, 0);
    assert.equal(got.size, 3);
    for (const key of got) firstChoice.set(key, (firstChoice.get(key) ?? 0) + 1);
    if (got.has('n9')) lastKeyServed++;
  }
  assert.ok(lastKeyServed > 0, 'the newcomer with the highest id gets a first slot somewhere');
  assert.ok(firstChoice.size >= 8, `first slots spread over ${firstChoice.size} of 10 newcomers`);
});

test('a choker keeps its ranks: the same ties give the same slots round after round', () => {
  const c = new Choker({ random: seeded(7) });
  const peers = Array.from({ length: 8 }, (_, i) => peer(`p${i}`));
  const first = sorted(c.decide(peers, 4, 0));
  for (let r = 1; r < 5; r++) {
    const got = c.decide([...peers].reverse(), 4, r * 1_000);
    const regular = [...got].filter((k) => k !== c.optimisticPeer);
    assert.equal(regular.length, 3);
    for (const k of regular) assert.ok(first.includes(k), `round ${r}: ${k} kept its regular slot`);
  }
});
