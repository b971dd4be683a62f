/**
 * The RevocationStore compliance suite: memory and Redis run it, so a tracker
 * can rely on the same sharing from each. A "cluster" is one shared store;
 * each open() is one more tracker's handle on it.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { ManualClock } from '../../src/core/clock.js';
import type { RevocationRecord, RevocationStore } from '../../src/core/ports.js';

export interface RevocationCluster {
  /** The clock every handle of the cluster reads (the memory store reads none). */
  clock: ManualClock;
  open(): Promise<RevocationStore>;
  close(): Promise<void>;
}

const DAY = 24 * 60 * 60 * 1000;

export function record(sid: string, at: number, over: Partial<RevocationRecord> = {}): RevocationRecord {
  return { sid, at, ref: null, reason: null, program: 'live', until: at + 360_000, keepUntil: at + DAY, ...over };
}

/** Collects what a handle's subscriber is given. */
export class Heard {
  readonly items: RevocationRecord[] = [];
  readonly take = (r: RevocationRecord): void => {
    this.items.push(r);
  };

  sids(): string[] {
    return [...new Set(this.items.map((r) => r.sid))].sort();
  }

  last(sid: string): RevocationRecord | undefined {
    return this.items.filter((r) => r.sid === sid).at(-1);
  }

  /** Waits (real time: pub/sub is asynchronous) until `sid` was heard, and `check` holds of the last word on it. */
  async waitFor(sid: string, check: (r: RevocationRecord) => boolean = () => true, ms = 5_000): Promise<RevocationRecord> {
    const end = Date.now() + ms;
    for (;;) {
      const r = this.last(sid);
      if (r && check(r)) return r;
      if (Date.now() > end) throw new Error(`${sid} not heard as expected within ${ms} ms (heard: ${this.sids().join(', ')})`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

/** Lets what is in flight land, so a test can say something was NOT delivered. */
export const settle = (ms = 100): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function runRevocationStoreSuite(name: string, makeCluster: () => Promise<RevocationCluster>): void {
  describe(`RevocationStore compliance: ${name}`, () => {
    let cluster: RevocationCluster;
    beforeEach(async () => {
      cluster = await makeCluster();
    });
    afterEach(async () => {
      await cluster.close();
    });

    it('a revocation shared by one tracker reaches every subscribed tracker, its own included, field for field', async () => {
      const t1 = await cluster.open();
      const t2 = await cluster.open();
      const [h1, h2] = [new Heard(), new Heard()];
      await t1.subscribe(h1.take);
      await t2.subscribe(h2.take);
      const now = cluster.clock.now();
      const kick = record('kicked', now, { ref: 'dc-1', reason: 'operator ☺', until: now + 123_456 });
      t1.share(kick);
      assert.deepEqual(await h2.waitFor('kicked'), kick);
      assert.deepEqual(await h1.waitFor('kicked'), kick);
      const nowhere = record('no-program', now, { program: null });
      t2.share(nowhere);
      assert.deepEqual(await h1.waitFor('no-program'), nowhere);
      assert.deepEqual(t1.status(), { reachable: true, backlog: 0 });
    });

    it('a tracker subscribing later is handed everything shared before, with the latest word on each sid', async () => {
      const t1 = await cluster.open();
      const own = new Heard();
      await t1.subscribe(own.take);
      const now = cluster.clock.now();
      t1.share(record('a', now));
      t1.share(record('b', now, { program: 'other' }));
      await own.waitFor('b');
      // The same session again, now with the kick's id and reason: that is what a newcomer must get.
      t1.share(record('a', now, { ref: 'dc-a', reason: 'abuse', until: now + 999_000 }));
      await own.waitFor('a', (r) => r.ref === 'dc-a');
      const late = new Heard();
      const t2 = await cluster.open();
      await t2.subscribe(late.take);
      // Delivered before subscribe resolved: a tracker starts knowing them.
      assert.deepEqual(late.sids(), ['a', 'b']);
      assert.deepEqual(late.last('a'), record('a', now, { ref: 'dc-a', reason: 'abuse', until: now + 999_000 }));
    });

    it('forgets a revocation once past its keepUntil: a later subscriber is not handed it', async () => {
      const t1 = await cluster.open();
      const own = new Heard();
      await t1.subscribe(own.take);
      const now = cluster.clock.now();
      t1.share(record('short', now, { keepUntil: now + 1_000 }));
      t1.share(record('long', now, { keepUntil: now + DAY }));
      await own.waitFor('long');
      cluster.clock.advance(1_001);
      // Another share a moment later (any tracker's): the store judges what is forgotten by then.
      t1.share(record('fresh', cluster.clock.now()));
      await own.waitFor('fresh');
      const heard = new Heard();
      const t2 = await cluster.open();
      await t2.subscribe(heard.take);
      assert.deepEqual(heard.sids(), ['fresh', 'long']);
    });

    it('a closed handle hears nothing more; the others go on', async () => {
      const t1 = await cluster.open();
      const t2 = await cluster.open();
      const [h1, h2] = [new Heard(), new Heard()];
      await t1.subscribe(h1.take);
      await t2.subscribe(h2.take);
      await t1.close();
      t2.share(record('after-close', cluster.clock.now()));
      await h2.waitFor('after-close');
      await settle();
      assert.deepEqual(h1.sids(), []);
    });

    it('many revocations shared at once by two trackers all reach both', async () => {
      const t1 = await cluster.open();
      const t2 = await cluster.open();
      const [h1, h2] = [new Heard(), new Heard()];
      await t1.subscribe(h1.take);
      await t2.subscribe(h2.take);
      const now = cluster.clock.now();
      const sids = Array.from({ length: 200 }, (_, i) => `s${String(i).padStart(3, '0')}`);
      sids.forEach((sid, i) => (i % 2 ? t1 : t2).share(record(sid, now, { ref: `dc-${i}` })));
      for (const h of [h1, h2]) await h.waitFor(sids.at(-1) as string);
      for (const h of [h1, h2]) {
        await Promise.all(sids.map((sid) => h.waitFor(sid)));
        assert.deepEqual(h.sids(), sids);
      }
      const late = new Heard();
      const t3 = await cluster.open();
      await t3.subscribe(late.take);
      assert.deepEqual(late.sids(), sids);
    });
  });
}
