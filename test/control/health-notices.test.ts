/**
 * Several control servers: /v1/health reports the PostgreSQL LISTEN
 * connection of disconnect notices (real PostgreSQL): ok while it listens,
 * degraded `notices_down` once the server drops it, ok again when it is back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { ManualClock } from '../../src/core/clock.js';
import { createControlServer } from '../../src/control/index.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import type { ControlHealth } from '../../src/protocol/control-api.js';
import { PgControlStore } from '../../src/store/pg-control-store.js';
import { PgDisconnectNotices } from '../../src/store/pg-disconnect-notices.js';
import { connectPgTestDb, type PgTestDb } from '../store/pg-test-db.js';
import { ADMIN_PASSWORD, TRACKER_SECRET } from './helpers.js';

let db: PgTestDb | undefined;
before(async () => {
  db = await connectPgTestDb();
});
after(async () => {
  await db?.cleanup();
});

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`not reached: ${what}`);
}

describe('control health in cluster mode', { timeout: 30_000 }, () => {
  it('is degraded (notices_down) while the LISTEN connection is down, and ok without that reason once it is back', async () => {
    if (!db) throw new Error('PostgreSQL is not connected');
    const app = `gatecast-test-${db.run}`;
    const store = await PgControlStore.open(db.url, { schema: await db.freshSchema(), applicationName: app });
    await store.migrate();
    const listener = `${app}-health-notices`;
    // The notices' own clock: their reconnect waits until the test advances it.
    const noticeClock = new ManualClock(Date.now());
    const notices = new PgDisconnectNotices({ url: db.url, channel: store.noticeChannel, clock: noticeClock, log: pino({ level: 'silent' }), applicationName: listener });
    const server = await createControlServer({
      store,
      clock: new ManualClock(Date.now()),
      adminPassword: ADMIN_PASSWORD,
      trackerSecret: TRACKER_SECRET,
      linkKeepaliveMs: null,
      webServer: webServerFactory(),
      cluster: { instanceId: 'c1', notices },
    });
    const health = async (): Promise<ControlHealth> => (await server.app.inject({ method: 'GET', url: '/v1/health' })).json();
    try {
      await notices.start();
      assert.ok(notices.listening);
      assert.ok(!(await health()).reasons.some((r) => r.code === 'notices_down'));

      const { rows } = await db.admin.query<{ n: number }>('SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1', [listener]);
      assert.equal(rows[0]?.n, 1);
      await until('the loss seen', () => !notices.listening);
      const down = await health();
      assert.equal(down.status, 'degraded');
      assert.match(down.reasons.find((r) => r.code === 'notices_down')?.message ?? '', /LISTEN connection for disconnect notices is down/);

      noticeClock.advance(60_000);
      await until('listening again', () => notices.listening);
      assert.ok(!(await health()).reasons.some((r) => r.code === 'notices_down'));
    } finally {
      await server.close();
      await notices.stop();
      await store.close();
    }
  });
});
