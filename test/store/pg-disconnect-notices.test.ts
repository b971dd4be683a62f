/**
 * Disconnect notices on PostgreSQL LISTEN/NOTIFY: the store's insert of a
 * pending disconnect announces its id (a completed one is not announced), a
 * notice on another schema's channel is not heard, and a listening connection
 * the server drops is reopened and LISTENs again (subscribers are told of the
 * gap, so they sweep for what they missed).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { DisconnectRecord } from '../../src/core/types.js';
import { systemClock } from '../../src/protocol/system-clock.js';
import { PgControlStore } from '../../src/store/pg-control-store.js';
import { disconnectNoticeChannel, PgDisconnectNotices } from '../../src/store/pg-disconnect-notices.js';
import { connectPgTestDb, type PgTestDb } from './pg-test-db.js';

let db: PgTestDb | undefined;

before(async () => {
  db = await connectPgTestDb();
});

after(async () => {
  await db?.cleanup();
});

const pending = (id: string, state: 'pending' | 'completed' = 'pending'): DisconnectRecord => ({
  id,
  sid: `s-${id}`,
  user: 'alice',
  program: 'news',
  reason: 'kicked',
  state,
  outcome: state === 'completed' ? 'stopped' : null,
  trackerId: 't1',
  attempts: 0,
  createdAt: 1_000,
  completedAt: state === 'completed' ? 2_000 : null,
  timeline: [],
});

async function until(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`not reached: ${what}`);
}

describe('PgDisconnectNotices', () => {
  it('names one channel per schema, within PostgreSQL identifier length', () => {
    assert.equal(disconnectNoticeChannel('gc_a'), 'gatecast_disconnects_gc_a');
    assert.equal(disconnectNoticeChannel(undefined), 'gatecast_disconnects');
    assert.equal(disconnectNoticeChannel('x'.repeat(80)).length, 63);
  });

  it('hears the pending disconnects its schema records, not completed ones nor another schema, and listens again after a drop', async () => {
    if (!db) throw new Error('PostgreSQL is not connected');
    const app = `gatecast-test-${db.run}`;
    const store = await PgControlStore.open(db.url, { schema: await db.freshSchema(), applicationName: app });
    const other = await PgControlStore.open(db.url, { schema: await db.freshSchema(), applicationName: app });
    await store.migrate();
    await other.migrate();
    assert.notEqual(store.noticeChannel, other.noticeChannel);
    const heard: string[] = [];
    let gaps = 0;
    const listener = `${app}-notices`;
    const notices = new PgDisconnectNotices({ url: db.url, channel: store.noticeChannel, clock: systemClock, log: pino({ level: 'silent' }), applicationName: listener });
    notices.subscribe(
      (id) => heard.push(id),
      () => gaps++,
    );
    try {
      await notices.start();
      assert.ok(notices.listening);
      assert.equal(gaps, 1, 'subscribers sweep once listening starts');
      await other.createDisconnect(pending('elsewhere'));
      await store.createDisconnect(pending('done', 'completed'));
      await store.createDisconnect(pending('d1'));
      await until('d1 heard', () => heard.includes('d1'));
      // Notices arrive in commit order: once d1 is here, the two before it would have been too.
      assert.deepEqual(heard, ['d1']);

      const { rows } = await db.admin.query<{ n: number }>('SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1', [listener]);
      assert.equal(rows[0]?.n, 1);
      await until('listening again', () => gaps === 2 && notices.listening);
      await store.createDisconnect(pending('d2'));
      await until('d2 heard', () => heard.includes('d2'));
      assert.deepEqual(heard, ['d1', 'd2']);
    } finally {
      await notices.stop();
      await store.close();
      await other.close();
    }
    assert.equal(notices.listening, false);
  });
});
