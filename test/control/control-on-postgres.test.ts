/**
 * The control server on PostgreSQL (`--db postgres://…`), through the real
 * composition: it starts and serves, refuses to start without its database
 * (naming the URL, never the password), and while running reports an
 * unreachable database as degraded health (database_error) instead of
 * crashing, then recovers by itself when the database is back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { ManualClock } from '../../src/core/clock.js';
import { createControlServer } from '../../src/control/index.js';
import { openControlStore } from '../../src/cli/control-store.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import type { ControlHealth } from '../../src/protocol/control-api.js';
import { connectPgTestDb, type PgTestDb } from '../store/pg-test-db.js';
import { ADMIN_PASSWORD, TRACKER_SECRET, adminAuth } from './helpers.js';

const BIN = new URL('../../bin/gatecast.js', import.meta.url).pathname;
const ENV = { ...process.env, GATECAST_ADMIN_PASSWORD: 'pg-admin-pw', GATECAST_TRACKER_SECRET: 'pg-tracker-secret' };

let db: PgTestDb | undefined;
before(async () => {
  db = await connectPgTestDb();
});
after(async () => {
  await db?.cleanup();
});

/** The test database's URL, working in `schema` (a startup option any libpq-style URL may carry), via `hostPort` if given. */
function urlIn(schema: string, hostPort?: string): string {
  if (!db) throw new Error('PostgreSQL is not connected (the before hook failed)');
  const u = new URL(db.url);
  if (hostPort) u.host = hostPort;
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

/** A TCP relay to PostgreSQL that can be cut (every connection reset, new ones refused) and restored. */
async function relayTo(target: URL): Promise<{ hostPort: string; cut(): void; restore(): void; close(): Promise<void> }> {
  let open = true;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (!open) return void client.destroy();
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('relay has no port');
  return {
    hostPort: `127.0.0.1:${address.port}`,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function health(url: string): Promise<string[]> {
  const res = await fetch(`${url}/v1/health`);
  assert.equal(res.status, 200);
  return ((await res.json()) as ControlHealth).reasons.map((r) => r.code);
}

describe('control server on PostgreSQL', () => {
  it('gatecast control --db postgres://… starts, migrates and serves', async () => {
    if (!db) throw new Error('PostgreSQL is not connected');
    const schema = await db.freshSchema();
    const child = spawn(process.execPath, [BIN, 'control', '--port', '0', '--db', urlIn(schema)], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      const lines = createInterface({ input: child.stdout });
      let url = '';
      for await (const line of lines) {
        const m = /^control server listening on (\S+)$/.exec(line);
        if (m?.[1]) {
          url = m[1];
          break;
        }
      }
      assert.ok(url, `no listening line; stderr: ${err}`);
      assert.deepEqual(await health(url), ['no_tracker'], 'the database is fine: only the missing tracker is reported');
      const { rows } = await db.admin.query<{ name: string; is_admin: boolean }>(`SELECT name, is_admin FROM ${schema}.users`);
      assert.deepEqual(rows, [{ name: 'admin', is_admin: true }]);
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 0, err);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('refuses to start when PostgreSQL cannot be reached: exit 1, the URL named without its password', async () => {
    const child = spawn(process.execPath, [BIN, 'control', '--port', '0', '--db', 'postgresql://gatecast:hunter2-pw@127.0.0.1:1/test'], {
      env: ENV,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, EXIT.error, err);
    assert.match(err, /cannot reach the PostgreSQL database postgresql:\/\/gatecast@127\.0\.0\.1:1\/test: .*ECONNREFUSED/);
    assert.match(err, /pg_isready/);
    assert.doesNotMatch(err, /hunter2/);
  });

  it('reports database_error while PostgreSQL is unreachable, keeps serving, and recovers when it is back', async () => {
    if (!db) throw new Error('PostgreSQL is not connected');
    const relay = await relayTo(new URL(db.url));
    const opened = await openControlStore(urlIn(await db.freshSchema(), relay.hostPort));
    const server = await createControlServer({
      store: opened.store,
      clock: new ManualClock(Date.now()),
      adminPassword: ADMIN_PASSWORD,
      trackerSecret: TRACKER_SECRET,
      linkKeepaliveMs: null,
      expiryCheckMs: null,
      webServer: webServerFactory(),
      isDatabaseCorrupt: opened.isCorrupt,
      databaseProbe: opened.probe,
    });
    try {
      const url = await server.listen(0);
      assert.deepEqual(await health(url), ['no_tracker']);
      relay.cut();
      assert.deepEqual(await health(url), ['no_tracker', 'database_error']);
      // What needs the database fails with an error (not a hang, not a crash).
      const users = () => fetch(`${url}/v1/admin/users`, { headers: { authorization: adminAuth() } });
      assert.equal((await users()).status, 503, 'unavailable, to be tried again (core/unavailable.ts)');
      relay.restore();
      assert.deepEqual(await health(url), ['no_tracker']);
      assert.equal((await users()).status, 200);
    } finally {
      await server.close();
      await opened.store.close();
      await relay.close();
    }
  });
});
