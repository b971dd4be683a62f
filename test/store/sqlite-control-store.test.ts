import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';
import { runControlStoreSuite } from './control-store-suite.js';
import { runControlStoreLeaseSuite } from './control-store-lease-suite.js';
import { runControlStoreCredentialSuite } from './control-store-credential-suite.js';

runControlStoreSuite('sqlite :memory:', async () => new SqliteControlStore(':memory:'));
runControlStoreCredentialSuite('sqlite :memory:', async () => new SqliteControlStore(':memory:'));
runControlStoreLeaseSuite('sqlite :memory: (one store for both instances)', async () => {
  const store = new SqliteControlStore(':memory:');
  return [store, store];
});

describe('SqliteControlStore on a file', () => {
  it('keeps its data across a reopen, and migrates an existing file without loss', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatecast-store-'));
    try {
      const path = join(dir, 'control.db');
      const first = new SqliteControlStore(path);
      await first.migrate();
      await first.createUser({ name: 'alice', passwordHash: 'h', isAdmin: false, createdAt: 1 });
      await first.putSecret('token_signing_key', 'k');
      await first.createDisconnect({
        id: 'd1', sid: 's1', user: 'alice', program: 'news', reason: 'r', state: 'pending', outcome: null,
        trackerId: 't1', attempts: 2, createdAt: 1, completedAt: null, timeline: [{ at: 1, event: 'command_sent' }],
      });
      await first.close();

      const second = new SqliteControlStore(path);
      await second.migrate();
      assert.equal((await second.getUser('alice'))?.passwordHash, 'h');
      assert.equal(await second.getSecret('token_signing_key'), 'k');
      assert.deepEqual((await second.listDisconnects({ pending: true })).map((d) => [d.id, d.attempts, d.timeline.length]), [['d1', 2, 1]]);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
