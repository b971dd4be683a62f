/**
 * `GET /v1/health` tells the truth, over real HTTP: degraded without a
 * tracker, with a disconnect stuck past its bound, and once SQLite has said
 * the database is damaged; a hello the control server cannot handle closes
 * the link with 4503 instead of leaving the tracker waiting for a welcome.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ManualClock } from '../../src/core/clock.js';
import { DEFAULTS } from '../../src/core/config.js';
import type { SessionRecord } from '../../src/core/types.js';
import { createControlServer } from '../../src/control/index.js';
import { ControlHealthCheck, DatabaseWatch } from '../../src/control/health.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import { ControlHealthSchema, type ControlHealth } from '../../src/protocol/control-api.js';
import { HELLO_FAILED_CLOSE } from '../../src/protocol/control-link.js';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';
import { isCorruption } from '../../src/store/sqlite-errors.js';
import { buildControlDb, corruptSessionsPage } from './corrupt-db.js';
import { joinedSession } from './disconnect-helpers.js';
import { ADMIN_PASSWORD, FakeTracker, TRACKER_SECRET, admin, startServer, startWithTracker } from './helpers.js';

const checkHealth = TypeCompiler.Compile(ControlHealthSchema);

async function health(url: string): Promise<ControlHealth> {
  const res = await fetch(`${url}/v1/health`);
  assert.equal(res.status, 200, 'degraded or not, health answers 200');
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const body: unknown = await res.json();
  assert.ok(checkHealth.Check(body), JSON.stringify(body));
  return body;
}

const codes = (h: ControlHealth): string[] => h.reasons.map((r) => r.code);

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits (10 s at most: a link left open is the failure) for the link to close; its code and reason. */
async function closedWith(t: FakeTracker): Promise<{ code: number; reason: string }> {
  const [code, reason] = (await once(t.ws, 'close', { signal: AbortSignal.timeout(10_000) })) as [number, Buffer];
  return { code, reason: reason.toString() };
}

describe('control health', () => {
  it('is degraded (no_tracker) until a tracker says hello, ok while one is connected, degraded again when it leaves', async () => {
    const h = await startServer();
    try {
      const url = await h.server.listen(0);
      const alone = await health(url);
      assert.equal(alone.status, 'degraded');
      assert.deepEqual(codes(alone), ['no_tracker']);
      assert.match(alone.reasons[0]!.message, /no tracker is connected/);
      assert.equal(alone.trackers, 0);

      const t = await FakeTracker.connect(url);
      assert.equal((await t.hello()).type, 'welcome');
      const up = await health(url);
      assert.deepEqual({ status: up.status, reasons: up.reasons, trackers: up.trackers, pending: up.pending_disconnects }, { status: 'ok', reasons: [], trackers: 1, pending: 0 });

      await t.close();
      await until('no_tracker again', async () => codes(await health(url)).includes('no_tracker'));
    } finally {
      await h.close();
    }
  });

  it('reports a disconnect pending longer than the bound as disconnect_backlog, and ok again once it completes', async () => {
    const h = await startWithTracker({ expiryCheckMs: null });
    try {
      await joinedSession(h, h.tracker, 's1');
      assert.equal((await admin(h, 'POST', '/v1/admin/kick', { session: 's1', reason: 'bye' })).status, 200);
      const young = await health(h.url);
      assert.deepEqual({ status: young.status, pending: young.pending_disconnects }, { status: 'ok', pending: 1 });

      // The tracker never answers: past the bound the chain is stuck.
      h.clock.advance(DEFAULTS.healthDisconnectMaxAgeMs + 1);
      const stuck = await health(h.url);
      assert.equal(stuck.status, 'degraded');
      assert.deepEqual(codes(stuck), ['disconnect_backlog']);
      assert.match(stuck.reasons[0]!.message, /^1 of 1 pending disconnects started more than 30 s ago \(oldest 30 s\)$/);

      h.tracker.send({ type: 'leave', id: 'leave-s1', sid: 's1', reason: 'stopped', at: h.clock.now() });
      await until('the disconnect to complete', async () => h.server.orchestrator.pendingCount === 0);
      const done = await health(h.url);
      assert.deepEqual({ status: done.status, pending: done.pending_disconnects }, { status: 'ok', pending: 0 });
    } finally {
      await h.close();
    }
  });

  it('counts alone are a backlog past the maximum; a store that cannot be read is database_error', async () => {
    const clock = new ManualClock(Date.now());
    class Unreadable extends SqliteControlStore {
      override async listDisconnects(): Promise<never> {
        throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      }
    }
    const store = new Unreadable(':memory:');
    const database = new DatabaseWatch(isCorruption, clock);
    let pending = 3;
    const check = new ControlHealthCheck({ clock, store: database.watch(store), database, trackers: () => 1, pendingDisconnects: () => pending, maxPending: 2 });
    try {
      const many = await check.report();
      assert.deepEqual(many.reasons, [{ code: 'disconnect_backlog', message: '3 disconnects are pending (more than 2)' }]);
      pending = 1;
      const unread = await check.report();
      assert.deepEqual(unread.reasons, [{ code: 'database_error', message: 'the database could not be read: database is locked' }]);
      assert.equal(database.corruption, null, 'a busy database is not a damaged one');
    } finally {
      await store.close();
    }
  });

  it('a hello the store fails on closes the link with 4503 and a reason; the redial is welcomed once the store answers', async () => {
    class Flaky extends SqliteControlStore {
      failing = true;
      override async listSessions(filter?: Parameters<SqliteControlStore['listSessions']>[0]): Promise<SessionRecord[]> {
        if (this.failing) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
        return super.listSessions(filter);
      }
    }
    const store = new Flaky(':memory:');
    const h = await startServer({ store });
    try {
      const url = await h.server.listen(0);
      const t = await FakeTracker.connect(url);
      const closed = closedWith(t);
      t.send({ type: 'hello', tracker_id: 'tracker-1', announce_url: 'http://127.0.0.1:6969/announce', ws_url: 'ws://127.0.0.1:6969/ws', sessions: [] });
      assert.deepEqual(await closed, { code: HELLO_FAILED_CLOSE, reason: 'the control server could not handle the hello (see its log and /v1/health)' });
      assert.equal(HELLO_FAILED_CLOSE, 4503);
      // Not left registered: admission does not hand out a tracker that never got its welcome.
      assert.deepEqual(codes(await health(url)), ['no_tracker']);

      store.failing = false;
      const again = await FakeTracker.connect(url);
      assert.equal((await again.hello()).type, 'welcome');
      assert.equal((await health(url)).status, 'ok');
      await again.close();
    } finally {
      await h.close();
    }
  });

  it('a damaged sessions page found at run time turns health degraded (database_corrupt) instead of ok while every hello fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatecast-health-'));
    const file = join(dir, 'control.db');
    await buildControlDb(file);
    corruptSessionsPage(file, 'whole');
    // Opened without the start-up check, as if the page went bad while the server ran.
    const store = new SqliteControlStore(file);
    const server = await createControlServer({
      store,
      clock: new ManualClock(Date.now()),
      adminPassword: ADMIN_PASSWORD,
      trackerSecret: TRACKER_SECRET,
      linkKeepaliveMs: null,
      expiryCheckMs: null,
      webServer: webServerFactory(),
      isDatabaseCorrupt: isCorruption,
    });
    try {
      const url = await server.listen(0);
      // Nothing has read the damaged page yet.
      assert.deepEqual(codes(await health(url)), ['no_tracker']);

      const t = await FakeTracker.connect(url);
      const closed = closedWith(t);
      t.send({ type: 'hello', tracker_id: 'tracker-1', announce_url: 'http://127.0.0.1:6969/announce', ws_url: 'ws://127.0.0.1:6969/ws', sessions: [] });
      assert.equal((await closed).code, HELLO_FAILED_CLOSE);

      const sick = await health(url);
      assert.equal(sick.status, 'degraded');
      assert.deepEqual(codes(sick), ['database_corrupt', 'no_tracker']);
      assert.match(sick.reasons[0]!.message, /database disk image is malformed/);
      assert.match(sick.reasons[0]!.message, /restore the database from a backup/);
    } finally {
      await server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
