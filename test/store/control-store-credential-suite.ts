/**
 * The ControlStore compliance suite for trackers' control-link credentials
 * (issue 12): every adapter runs it (sqlite-control-store.test.ts,
 * pg-control-store.test.ts).
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { ClientError } from '../../src/core/errors.js';
import type { ControlStore, TrackerCredential } from '../../src/core/ports.js';

const credential = (id: string, over: Partial<TrackerCredential> = {}): TrackerCredential => ({
  id,
  secretHash: `hash-${id}`.padEnd(64, '0'),
  createdAt: 1_000,
  revokedAt: null,
  ...over,
});

export function runControlStoreCredentialSuite(name: string, makeStore: () => Promise<ControlStore>): void {
  describe(`ControlStore tracker credentials (${name})`, () => {
    let store: ControlStore;
    beforeEach(async () => {
      store = await makeStore();
      await store.migrate();
    });
    afterEach(async () => {
      await store.close();
    });

    it('creates, reads and lists (oldest first) credentials; an unknown id reads undefined', async () => {
      await store.createTrackerCredential(credential('t2', { createdAt: 2_000 }));
      await store.createTrackerCredential(credential('127.0.0.1:8701'));
      assert.deepEqual(await store.getTrackerCredential('127.0.0.1:8701'), credential('127.0.0.1:8701'));
      assert.equal(await store.getTrackerCredential('nope'), undefined);
      assert.deepEqual(
        (await store.listTrackerCredentials()).map((c) => c.id),
        ['127.0.0.1:8701', 't2'],
      );
    });

    it('refuses a second credential for an id whose credential is live, keeping the first', async () => {
      await store.createTrackerCredential(credential('t1'));
      await assert.rejects(store.createTrackerCredential(credential('t1', { secretHash: 'f'.repeat(64) })), (err: unknown) => err instanceof ClientError && err.code === 'conflict');
      assert.equal((await store.getTrackerCredential('t1'))?.secretHash, credential('t1').secretHash);
    });

    it('revokes once (kept in the list, revokedAt set), then a new secret may be given to the id', async () => {
      await store.createTrackerCredential(credential('t1'));
      assert.equal(await store.revokeTrackerCredential('t1', 5_000), true);
      assert.equal(await store.revokeTrackerCredential('t1', 6_000), false);
      assert.equal(await store.revokeTrackerCredential('unknown', 6_000), false);
      assert.deepEqual(await store.listTrackerCredentials(), [credential('t1', { revokedAt: 5_000 })]);
      await store.createTrackerCredential(credential('t1', { secretHash: 'e'.repeat(64), createdAt: 7_000 }));
      assert.deepEqual(await store.getTrackerCredential('t1'), credential('t1', { secretHash: 'e'.repeat(64), createdAt: 7_000 }));
    });
  });
}
