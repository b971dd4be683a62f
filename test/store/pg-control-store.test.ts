/**
 * The ControlStore compliance suite on PostgreSQL, plus what only this adapter
 * has to get right: BIGINT epoch ms read back as exact numbers, control
 * servers migrating one database at once, a clear refusal when the server
 * cannot be reached, and surviving connections the server drops.
 * PostgreSQL and the schemas each run works in: pg-test-db.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PgControlStore } from '../../src/store/pg-control-store.js';
import { DatabaseUnavailableError } from '../../src/store/pg-errors.js';
import { runControlStoreSuite } from './control-store-suite.js';
import { runControlStoreLeaseSuite } from './control-store-lease-suite.js';
import { runControlStoreCredentialSuite } from './control-store-credential-suite.js';
import { connectPgTestDb, PG_TEST_URL as URL_, type PgTestDb } from './pg-test-db.js';

let db: PgTestDb | undefined;
/** This run's connections as the server sees them (application_name), so a test can drop exactly those. */
let APP = '';

function testDb(): PgTestDb {
  if (!db) throw new Error('PostgreSQL is not connected (the before hook failed)');
  return db;
}

/** A store in a new, empty schema of this run. */
async function freshStore(): Promise<PgControlStore> {
  return PgControlStore.open(URL_, { schema: await testDb().freshSchema(), applicationName: APP });
}

before(async () => {
  db = await connectPgTestDb();
  APP = `gatecast-test-${db.run}`;
});

after(async () => {
  await db?.cleanup();
});

runControlStoreSuite('postgresql', freshStore);
runControlStoreCredentialSuite('postgresql', freshStore);
runControlStoreLeaseSuite('postgresql (two pools on one schema)', async () => {
  const schema = await testDb().freshSchema();
  return [await PgControlStore.open(URL_, { schema, applicationName: APP }), await PgControlStore.open(URL_, { schema, applicationName: APP })];
});

describe('PgControlStore', () => {
  it('reads BIGINT epoch ms back as exact numbers, not strings', async () => {
    const store = await freshStore();
    try {
      await store.migrate();
      const at = 1_764_470_400_123; // past 2^32, as every real timestamp is
      await store.createUser({ name: 'alice', passwordHash: 'h', isAdmin: false, createdAt: at, maxSessions: null });
      await store.createSession({
        id: 's1', user: 'alice', program: 'news', role: 'viewer', clientKey: 'k', state: 'ended', ip: '10.0.0.1', port: 6881,
        trackerId: 't1', createdAt: at, joinedAt: at + 1, endedAt: Number.MAX_SAFE_INTEGER, endReason: 'stopped',
      });
      assert.equal((await store.getUser('alice'))?.createdAt, at);
      const s = await store.getSession('s1');
      assert.deepEqual([s?.createdAt, s?.joinedAt, s?.endedAt], [at, at + 1, Number.MAX_SAFE_INTEGER]);
      assert.deepEqual((await store.listSessions({ includeEnded: true, endedAfter: at })).map((x) => x.id), ['s1']);
    } finally {
      await store.close();
    }
  });

  it('lets control servers starting together migrate one database: each migration applied once', async () => {
    const schema = await testDb().freshSchema();
    const stores = await Promise.all([1, 2, 3].map(() => PgControlStore.open(URL_, { schema, applicationName: APP })));
    try {
      await Promise.all(stores.map((s) => s.migrate()));
      const { rows } = await testDb().admin.query<{ version: string }>(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
      assert.deepEqual(
        rows.map((r) => r.version),
        ['0001_initial', '0002_disconnects', '0003_devices', '0004_max_sessions', '0005_disconnect_leases', '0006_one_pending_disconnect', '0007_tracker_credentials'],
      );
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('refuses to open an unreachable server, naming the URL without its password', async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const err = await PgControlStore.open('postgres://gatecast:s3cret-pw@127.0.0.1:1/test').then(
      () => assert.fail('opened an unreachable database'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DatabaseUnavailableError, String(err));
    assert.equal(err.refused, false);
    assert.match(err.message, /cannot reach the PostgreSQL database postgres:\/\/gatecast@127\.0\.0\.1:1\/test: .*ECONNREFUSED/);
    assert.doesNotMatch(err.message, /s3cret-pw/);
  });

  it('says the server refused when it answers but the database does not exist', async () => {
    const missing = new URL(URL_);
    missing.pathname = `/${testDb().run}_no_such_db`;
    const err = await PgControlStore.open(missing.toString()).then(
      () => assert.fail('opened a missing database'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DatabaseUnavailableError, String(err));
    assert.equal(err.refused, true);
    assert.match(err.message, /cannot use the PostgreSQL database .* does not exist/);
  });

  it('survives the server dropping its connections: no crash, and the next call reconnects', async () => {
    const schema = await testDb().freshSchema();
    let dropped!: (err: Error) => void;
    const idleError = new Promise<Error>((resolve) => (dropped = resolve));
    const store = await PgControlStore.open(URL_, { schema, applicationName: APP, onIdleError: (err) => dropped(err) });
    try {
      await store.migrate();
      await store.putSecret('k', 'v1');
      const { rows } = await testDb().admin.query<{ ended: boolean }>(
        'SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = $1',
        [APP],
      );
      assert.ok(rows.length > 0 && rows.every((r) => r.ended), 'the store had idle connections to drop');
      // Unhandled, this error of an idle connection would end the process; the pool drops that connection instead.
      assert.match((await idleError).message, /terminat/);
      assert.equal(await store.getSecret('k'), 'v1');
      await store.ping();
    } finally {
      await store.close();
    }
  });
});
