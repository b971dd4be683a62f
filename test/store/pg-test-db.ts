/**
 * PostgreSQL for tests: the server on 127.0.0.1:5432 and its `test` database
 * (.ci/run starts it; GATECAST_TEST_PG_URL points elsewhere). A test file
 * works in schemas of its own run, all dropped by cleanup(), so runs overlap
 * without meeting. An unreachable server fails the tests with what to start:
 * they are part of the suite, never skipped.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_TEST_URL = process.env['GATECAST_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface PgTestDb {
  url: string;
  /** This run's prefix; also the application_name prefix of its connections. */
  run: string;
  /** Creates and returns a new, empty schema of this run. */
  freshSchema(): Promise<string>;
  /** The admin connection pool (schema set-up, inspection). */
  admin: pg.Pool;
  /** Drops every schema of this run and checks none is left. */
  cleanup(): Promise<void>;
}

export async function connectPgTestDb(): Promise<PgTestDb> {
  const run = `gc_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: PG_TEST_URL, connectionTimeoutMillis: 5_000, max: 2 });
  admin.on('error', () => undefined);
  try {
    await admin.query('SELECT 1');
  } catch (err) {
    await admin.end();
    throw new Error(
      `PostgreSQL is not reachable at ${PG_TEST_URL} (${err instanceof Error ? err.message || err.name : String(err)}): start it ` +
        '(`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, as .ci/run does) with a `test` database, ' +
        'or point GATECAST_TEST_PG_URL at one',
    );
  }
  let schemas = 0;
  return {
    url: PG_TEST_URL,
    run,
    admin,
    async freshSchema() {
      const schema = `${run}_${++schemas}`;
      await admin.query(`CREATE SCHEMA ${schema}`);
      return schema;
    },
    async cleanup() {
      const { rows } = await admin.query<{ nspname: string }>("SELECT nspname FROM pg_namespace WHERE nspname LIKE $1 || '\\_%'", [run]);
      for (const { nspname } of rows) await admin.query(`DROP SCHEMA ${nspname} CASCADE`);
      const left = await admin.query("SELECT 1 FROM pg_namespace WHERE nspname LIKE $1 || '%'", [run]);
      await admin.end();
      assert.equal(left.rowCount, 0, 'every schema of this run is dropped');
    },
  };
}
