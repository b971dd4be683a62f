import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SlotIndex } from '../../src/store/slot-index.js';

/** Drives a SlotIndex the way a compact swarm does (dense slots, swap-remove) next to a Map as the model. */
function swarmModel(): { add(key: string): void; remove(key: string): void; check(): void; index: SlotIndex; keys: string[] } {
  const keys: string[] = [];
  const index = new SlotIndex((slot) => keys[slot] as string);
  const model = new Map<string, number>();
  return {
    index,
    keys,
    add(key) {
      keys.push(key);
      index.set(key, keys.length - 1);
      model.set(key, keys.length - 1);
    },
    remove(key) {
      const at = model.get(key);
      assert.equal(index.delete(key), at !== undefined);
      if (at === undefined) return;
      model.delete(key);
      const last = keys.length - 1;
      if (at !== last) {
        const moved = keys[last] as string;
        keys[at] = moved;
        index.set(moved, at);
        model.set(moved, at);
      }
      keys.pop();
    },
    check() {
      assert.equal(index.size, model.size);
      for (const [key, slot] of model) assert.equal(index.get(key), slot, key);
    },
  };
}

describe('SlotIndex', () => {
  it('finds, repoints and deletes keys; unknown keys are absent', () => {
    const m = swarmModel();
    for (const k of ['a', 'b', 'c']) m.add(k);
    m.check();
    assert.equal(m.index.get('zz'), undefined);
    assert.equal(m.index.delete('zz'), false);
    m.remove('a');
    m.check();
    assert.equal(m.index.get('a'), undefined);
    assert.equal(m.index.get('c'), 0);
  });

  it('agrees with a Map through thousands of random adds and removes (growth, shrink, probe chains that wrap)', () => {
    const m = swarmModel();
    let seed = 7;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const live: string[] = [];
    for (let step = 0; step < 20_000; step++) {
      // Grow for the first half, shrink for the second, so both resizes run many times.
      const addBias = step < 10_000 ? 3 : 1;
      if (live.length === 0 || rand(4) < addBias) {
        const key = `k${step}`;
        m.add(key);
        live.push(key);
      } else {
        const i = rand(live.length);
        const key = live[i] as string;
        live[i] = live[live.length - 1] as string;
        live.pop();
        m.remove(key);
      }
      if (step % 997 === 0) m.check();
    }
    m.check();
  });
});
