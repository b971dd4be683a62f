/**
 * The control database holds the token signing key (whoever reads it mints
 * tokens for any user and program), the source keys the server made, and the
 * password hashes: another local user of the control server's machine must
 * not be able to read it, whatever the umask. New and existing files, and
 * SQLite's WAL and shared-memory files beside them, are the owner's only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';

function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}

test('the SQLite control database and its WAL files are readable by their owner only', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatecast-db-mode-'));
  const old = process.umask(0o022);
  try {
    const fresh = join(dir, 'fresh.db');
    const store = new SqliteControlStore(fresh);
    await store.migrate();
    await store.putSecret('probe', 'a secret');
    for (const f of [fresh, `${fresh}-wal`, `${fresh}-shm`].filter(existsSync)) assert.equal(modeOf(f), 0o600, f);
    await store.close();

    // A database made before (or by hand) with a readable mode is closed up when opened.
    const existing = join(dir, 'existing.db');
    writeFileSync(existing, '');
    chmodSync(existing, 0o644);
    const again = new SqliteControlStore(existing);
    await again.migrate();
    assert.equal(modeOf(existing), 0o600);
    await again.close();
  } finally {
    process.umask(old);
    rmSync(dir, { recursive: true, force: true });
  }
});
