/**
 * The ControlStore compliance suite, part two: what several control servers
 * share through the database (leases on pending disconnects, the tracker
 * directory). Every adapter runs it. `pair` gives two stores on one database,
 * standing for two control server instances (SQLite: the same store twice, as
 * SQLite serves one process; PostgreSQL: two connection pools, so the claims
 * really race on the server).
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { ControlStore, TrackerPresence } from '../../src/core/ports.js';
import type { DisconnectRecord } from '../../src/core/types.js';

const pending = (id: string, trackerId: string | null, createdAt = 5_000): DisconnectRecord => ({
  id,
  sid: `s-${id}`,
  user: 'alice',
  program: 'news',
  reason: 'kicked',
  state: 'pending',
  outcome: null,
  trackerId,
  attempts: 0,
  createdAt,
  completedAt: null,
  timeline: [],
});

const LEASE = 5_000;
const T0 = 1_000_000;
const ids = (ds: readonly DisconnectRecord[]): string[] => ds.map((d) => d.id);

export function runControlStoreLeaseSuite(name: string, pair: () => Promise<[ControlStore, ControlStore]>): void {
  describe(`ControlStore compliance, several control servers: ${name}`, () => {
    let a: ControlStore;
    let b: ControlStore;
    beforeEach(async () => {
      [a, b] = await pair();
      await a.migrate();
      await b.migrate();
    });
    afterEach(async () => {
      await a.close();
      if (b !== a) await b.close();
    });

    describe('disconnect leases', () => {
      it('claims the pending disconnects of the given trackers only, oldest first, and only those asked for by id', async () => {
        await a.createDisconnect(pending('d1', 't1', 3));
        await a.createDisconnect(pending('d2', 't2', 2));
        await a.createDisconnect(pending('d3', 't1', 1));
        await a.createDisconnect(pending('d4', null));
        await a.createDisconnect({ ...pending('d5', 't1'), state: 'completed', outcome: 'stopped', completedAt: 6_000 });
        assert.deepEqual(ids(await a.claimDisconnects('A', { trackerIds: ['t1'], ids: ['d1'] }, T0, LEASE)), ['d1']);
        assert.deepEqual(ids(await a.claimDisconnects('A', { trackerIds: ['t1'] }, T0, LEASE)), ['d3', 'd1'], 'its own lease is claimed again');
        assert.deepEqual(ids(await a.claimDisconnects('A', { trackerIds: [] }, T0, LEASE)), []);
        assert.deepEqual(ids(await a.claimDisconnects('A', { trackerIds: ['t1'], ids: [] }, T0, LEASE)), []);
        const got = await a.claimDisconnects('A', { trackerIds: ['t2', 't9'] }, T0, LEASE);
        assert.deepEqual(got, [pending('d2', 't2', 2)], 'the record comes back whole');
      });

      it('gives each disconnect to exactly one of two instances claiming at once', async () => {
        const all = Array.from({ length: 40 }, (_, i) => pending(`d${String(i).padStart(2, '0')}`, i % 2 === 0 ? 't1' : 't2', i));
        for (const d of all) await a.createDisconnect(d);
        const rounds = await Promise.all(
          Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? a : b).claimDisconnects(i % 2 === 0 ? 'A' : 'B', { trackerIds: ['t1', 't2'] }, T0, LEASE)),
        );
        const byA = new Set(rounds.filter((_, i) => i % 2 === 0).flatMap(ids));
        const byB = new Set(rounds.filter((_, i) => i % 2 === 1).flatMap(ids));
        assert.deepEqual([...byA].filter((id) => byB.has(id)), [], 'no disconnect claimed by both');
        assert.equal(byA.size + byB.size, 40, 'every one claimed by someone');
        // The holders keep them: another claim by the other instance within the lease gets none of them.
        assert.deepEqual(ids(await b.claimDisconnects('B', { trackerIds: ['t1', 't2'], ids: [...byA] }, T0 + LEASE - 1, LEASE)), []);
      });

      it('lets another instance take over a lease that ran out, and the old holder then renews none of it', async () => {
        await a.createDisconnect(pending('d1', 't1'));
        await a.createDisconnect(pending('d2', 't1'));
        assert.deepEqual(ids(await a.claimDisconnects('A', { trackerIds: ['t1'] }, T0, LEASE)), ['d1', 'd2']);
        assert.deepEqual((await a.renewDisconnectLeases('A', T0 + 3_000, LEASE)).sort(), ['d1', 'd2'], 'renewed to T0 + 8000');
        assert.deepEqual(ids(await b.claimDisconnects('B', { trackerIds: ['t1'] }, T0 + 7_999, LEASE)), [], 'still held');
        assert.deepEqual(ids(await b.claimDisconnects('B', { trackerIds: ['t1'], ids: ['d2'] }, T0 + 8_000, LEASE)), ['d2'], 'expired: taken over');
        assert.deepEqual(await a.renewDisconnectLeases('A', T0 + 8_001, LEASE), ['d1']);
        assert.deepEqual(await b.renewDisconnectLeases('B', T0 + 8_001, LEASE), ['d2']);
      });

      it('renews only pending disconnects, and releases them (some or all) for anyone to claim at once', async () => {
        for (const id of ['d1', 'd2', 'd3']) await a.createDisconnect(pending(id, 't1'));
        await a.claimDisconnects('A', { trackerIds: ['t1'] }, T0, LEASE);
        await a.updateDisconnect('d3', { state: 'completed', outcome: 'stopped', completedAt: T0 });
        assert.deepEqual((await a.renewDisconnectLeases('A', T0, LEASE)).sort(), ['d1', 'd2']);
        assert.equal(await a.releaseDisconnects('A', ['d1']), 1);
        assert.equal(await a.releaseDisconnects('B'), 0, 'no one else releases what A holds');
        assert.deepEqual(ids(await b.claimDisconnects('B', { trackerIds: ['t1'] }, T0 + 1, LEASE)), ['d1']);
        assert.equal(await a.releaseDisconnects('A'), 2, 'd2, and the completed d3');
        assert.deepEqual(ids(await b.claimDisconnects('B', { trackerIds: ['t1'] }, T0 + 2, LEASE)), ['d1', 'd2']);
        assert.deepEqual(await a.renewDisconnectLeases('A', T0 + 3, LEASE), []);
      });
    });

    describe('tracker directory', () => {
      const presence = (trackerId: string, instance: string, seenAt: number): TrackerPresence => ({
        trackerId,
        instance,
        announceUrl: `http://${trackerId}/announce`,
        wsUrl: `ws://${trackerId}/channel`,
        connectedAt: seenAt - 1,
        seenAt,
      });

      it('lists the trackers seen after the cutoff; the newest hello wins a tracker', async () => {
        await a.putTrackerPresence(presence('t1', 'A', 100));
        await b.putTrackerPresence(presence('t2', 'B', 100));
        assert.deepEqual(await b.listTrackerPresence(99), [presence('t1', 'A', 100), presence('t2', 'B', 100)]);
        assert.deepEqual(await b.listTrackerPresence(100), [], 'stale: not seen after the cutoff');
        await b.putTrackerPresence(presence('t1', 'B', 200));
        assert.deepEqual(await a.listTrackerPresence(150), [presence('t1', 'B', 200)]);
      });

      it('refreshes and removes only the rows the instance holds', async () => {
        await a.putTrackerPresence(presence('t1', 'A', 100));
        await a.putTrackerPresence(presence('t2', 'B', 100));
        await a.touchTrackerPresence('A', ['t1', 't2'], 500);
        assert.deepEqual(
          (await b.listTrackerPresence(0)).map((p) => [p.trackerId, p.seenAt]),
          [
            ['t1', 500],
            ['t2', 100],
          ],
        );
        await a.touchTrackerPresence('A', [], 600);
        assert.equal(await a.deleteTrackerPresence('t2', 'A'), false, 'B holds t2');
        assert.equal(await a.deleteTrackerPresence('t1', 'A'), true);
        assert.deepEqual((await b.listTrackerPresence(0)).map((p) => p.trackerId), ['t2']);
      });
    });
  });
}
