/**
 * The control database is checked (PRAGMA quick_check) before the control
 * server serves from it: a damaged file is refused with a clear message and
 * its own exit code, through the real executable; a sound one starts.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { EXIT } from '../../src/cli/exit-codes.js';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';
import { DatabaseCorruptError } from '../../src/store/sqlite-errors.js';
import { buildControlDb, corruptSessionsPage } from './corrupt-db.js';

const BIN = new URL('../../bin/gatecast.js', import.meta.url).pathname;
const ENV = { ...process.env, GATECAST_ADMIN_PASSWORD: 'integrity-admin-pw', GATECAST_TRACKER_SECRET: 'integrity-tracker-secret' };

function control(db: string) {
  return spawn(process.execPath, [BIN, 'control', '--port', '0', '--db', db], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function refusal(db: string): Promise<{ code: number | null; out: string; err: string }> {
  const child = control(db);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  try {
    const [code] = (await once(child, 'exit')) as [number | null];
    return { code, out, err };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

describe('control database integrity at start', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatecast-integrity-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('opens a sound database and finds no problem', async () => {
    const file = join(dir, 'sound.db');
    await buildControlDb(file);
    const store = SqliteControlStore.open(file);
    try {
      assert.deepEqual(store.integrityProblems(), []);
      assert.equal((await store.listSessions()).length, 2_000);
    } finally {
      await store.close();
    }
  });

  it('refuses a database with a damaged sessions page, naming the file and what SQLite found', async () => {
    const file = join(dir, 'tail.db');
    await buildControlDb(file);
    const page = corruptSessionsPage(file, 'tail');
    assert.throws(
      () => SqliteControlStore.open(file),
      (err: unknown) => {
        assert.ok(err instanceof DatabaseCorruptError);
        assert.equal(err.file, file);
        assert.ok(err.problems.length > 0 && err.problems.length <= 10, err.problems.join('\n'));
        // quick_check names the damaged page; its "*** in database main ***" heading is not a problem.
        assert.ok(err.problems.some((p) => p.includes(`page ${page}`)), err.problems.join('\n'));
        assert.ok(err.problems.every((p) => !p.startsWith('***')));
        return true;
      },
    );
  });

  it('gatecast control exits with code 7 and says what to do when a sessions page is overwritten', async () => {
    const file = join(dir, 'whole.db');
    await buildControlDb(file);
    corruptSessionsPage(file, 'whole');
    const r = await refusal(file);
    assert.equal(r.code, EXIT.databaseCorrupt);
    assert.equal(r.code, 7);
    assert.equal(r.out, '', 'it never said it was listening');
    assert.match(r.err, new RegExp(`the control database ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is damaged \\(`));
    assert.match(r.err, /database disk image is malformed/);
    assert.match(r.err, /refusing to start/);
    assert.match(r.err, /restore the latest backup/);
    assert.match(r.err, /docs\/OPERATIONS\.md/);
  });

  it('gatecast control exits with code 7 on a file that is not a database at all', async () => {
    const file = join(dir, 'junk.db');
    writeFileSync(file, Buffer.alloc(16_384, 0x5a));
    const r = await refusal(file);
    assert.equal(r.code, EXIT.databaseCorrupt);
    assert.match(r.err, /is damaged \(file is not a database\)/);
  });

  it('gatecast control starts on the sound database, serves health, and stops cleanly', async () => {
    const file = join(dir, 'start.db');
    await buildControlDb(file, 500);
    const child = control(file);
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      const lines = createInterface({ input: child.stdout });
      const [first] = (await Promise.race([once(lines, 'line'), once(child, 'exit').then(() => [`exited: ${err}`])])) as [string];
      const m = /^control server listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(first);
      assert.ok(m, first);
      const res = await fetch(`${m[1]}/v1/health`);
      assert.equal(res.status, 200);
      const health = (await res.json()) as { status: string; reasons: Array<{ code: string }> };
      // Sound database: the only reason is that no tracker has connected yet.
      assert.deepEqual(health.reasons.map((r) => r.code), ['no_tracker']);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
