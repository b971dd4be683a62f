/**
 * `gatecast demo --cluster`: two control servers on this machine's PostgreSQL
 * and two trackers on its Redis, the broadcaster and viewers; both control
 * servers list every session, the sessions sit on both trackers, a viewer's
 * stream carries bytes, and at exit the schema and the Redis keys are gone.
 * Missing or occupied engines end it at once with what to do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { Redis } from 'ioredis';
import { adminClient } from '../../src/cli/control-client.js';
import { PG_TEST_URL } from '../store/pg-test-db.js';

const REDIS_URL = `${process.env['GATECAST_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379'}/12`;
const ADMIN = 'cluster-demo-admin';

interface ClusterLine {
  controls: Array<{ url: string; instance: string }>;
  trackers: string[];
  schema: string;
  viewers: Array<{ user: string; play: string; control: string }>;
}

function run(args: string[]): { child: ReturnType<typeof spawn>; stderr: () => string } {
  const child = spawn(process.execPath, ['bin/gatecast.js', 'demo', '--cluster', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GATECAST_ADMIN_PASSWORD: ADMIN },
  });
  const err: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (d: string) => err.push(d));
  return { child, stderr: () => err.join('') };
}

async function gatecastKeys(): Promise<string[]> {
  const r = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    return await r.keys('gatecast:*');
  } finally {
    r.disconnect();
  }
}

async function schemaExists(schema: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_TEST_URL });
  await c.connect();
  try {
    return ((await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount ?? 0) > 0;
  } finally {
    await c.end();
  }
}

test('demo --cluster: both control servers list every session, spread over both trackers; nothing is left at exit', { timeout: 120_000 }, async () => {
  assert.deepEqual(await gatecastKeys(), [], 'Redis database 12 starts without gatecast keys');
  const { child, stderr } = run(['--viewers', '2', '--duration', '90', '--json', '--db', PG_TEST_URL, '--redis', REDIS_URL]);
  let line: ClusterLine | null = null;
  try {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const [first] = (await Promise.race([once(lines, 'line'), once(child, 'exit').then(() => assert.fail(`demo exited: ${stderr()}`))])) as [string];
    line = JSON.parse(first) as ClusterLine;
    assert.equal(line.controls.length, 2);
    assert.equal(line.trackers.length, 2);
    assert.ok(await schemaExists(line.schema), 'the cluster works in a schema of its own');
    // The broadcaster and both viewers joined, as either control server sees it (they share the database).
    const trackerHosts = line.trackers.map((t) => new URL(t).host).sort();
    const deadline = Date.now() + 30_000;
    let seen: string[][] = [];
    for (;;) {
      seen = await Promise.all(
        line.controls.map(async (c) => (await adminClient(c.url, ADMIN).listSessions()).filter((s) => s.state === 'joined').map((s) => `${s.id}@${s.tracker ?? ''}`).sort()),
      );
      if (seen[0]?.length === 3 && JSON.stringify(seen[0]) === JSON.stringify(seen[1])) break;
      assert.ok(Date.now() < deadline, `3 joined sessions on both control servers; saw ${JSON.stringify(seen)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const used = new Set((seen[0] ?? []).map((s) => s.split('@')[1]));
    assert.deepEqual([...used].sort(), trackerHosts, 'sessions on both trackers');
    assert.deepEqual(new Set(line.viewers.map((v) => v.control)).size, 2, 'viewers admitted by both control servers');
    // A viewer's stream carries MPEG-TS.
    const viewer = line.viewers[0];
    assert.ok(viewer);
    const res = await fetch(viewer.play);
    const reader = res.body?.getReader();
    const chunk = await reader?.read();
    await reader?.cancel();
    assert.ok((chunk?.value?.length ?? 0) > 0, 'stream bytes');
    assert.equal(chunk?.value?.[0], 0x47, 'MPEG-TS sync byte');
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
  }
  assert.equal(child.exitCode, 0, stderr());
  assert.ok(line);
  assert.equal(await schemaExists(line.schema), false, 'schema dropped at exit');
  assert.deepEqual(await gatecastKeys(), [], 'Redis keys removed at exit');
});

test('demo --cluster with PostgreSQL unreachable exits 1 saying what to start', { timeout: 60_000 }, async () => {
  const { child, stderr } = run(['--db', 'postgres://postgres@127.0.0.1:1/none', '--redis', REDIS_URL]);
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 1);
  assert.match(stderr(), /PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/none is not reachable .*pg_ctlcluster/);
});

test('demo --cluster refuses a Redis database that already holds gatecast keys, and leaves them', { timeout: 60_000 }, async () => {
  const r = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    await r.set('gatecast:someone-elses', '1');
    const { child, stderr } = run(['--db', PG_TEST_URL, '--redis', REDIS_URL]);
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 1);
    assert.match(stderr(), /already holds 1 gatecast key\(s\).*--redis/);
    assert.equal(await r.get('gatecast:someone-elses'), '1');
  } finally {
    await r.del('gatecast:someone-elses');
    r.disconnect();
  }
});
