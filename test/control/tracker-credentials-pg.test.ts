/**
 * Trackers' credentials with two control servers on one PostgreSQL schema:
 * a credential made through one works on the other, and a revocation through
 * one closes the link the other holds at its re-check, and its redial there
 * is refused.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { ManualClock } from '../../src/core/clock.js';
import { DEFAULTS } from '../../src/core/config.js';
import { CREDENTIAL_REVOKED_CLOSE } from '../../src/control/tracker-credentials.js';
import { PgControlStore } from '../../src/store/pg-control-store.js';
import { connectPgTestDb, type PgTestDb } from '../store/pg-test-db.js';
import { admin, FakeTracker, startServer } from './helpers.js';

let db: PgTestDb | undefined;
before(async () => {
  db = await connectPgTestDb();
});
after(async () => {
  await db?.cleanup();
});

async function status(url: string, bearer: string): Promise<number> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${DEFAULTS.controlLinkPath}`, { headers: { authorization: `Bearer ${bearer}` } });
  ws.on('error', () => undefined);
  const s = await Promise.race([
    once(ws, 'open').then(() => 101),
    (once(ws, 'unexpected-response') as Promise<[unknown, IncomingMessage]>).then(([, res]) => res.statusCode ?? 0),
  ]);
  ws.terminate();
  return s;
}

describe('tracker credentials on two control servers sharing PostgreSQL', { timeout: 30_000 }, () => {
  it('a credential made on A links to B; revoked on A, B closes the link at its re-check and refuses the redial', async () => {
    if (!db) throw new Error('PostgreSQL is not connected');
    const schema = await db.freshSchema();
    const app = `gatecast-test-${db.run}`;
    const clock = new ManualClock(Date.now());
    const a = await startServer({ store: await PgControlStore.open(db.url, { schema, applicationName: app }), clock, credentialCheckMs: 2_000 });
    const b = await startServer({ store: await PgControlStore.open(db.url, { schema, applicationName: app }), clock, credentialCheckMs: 2_000 });
    let tracker: FakeTracker | undefined;
    try {
      const bUrl = await b.server.listen(0);
      const made = await admin(a, 'POST', '/v1/admin/trackers/credentials', { id: '10.0.0.7:8701' });
      assert.equal(made.status, 201);
      const credential = String(made.body?.['credential']);
      tracker = await FakeTracker.connect(bUrl, credential);
      assert.equal((await tracker.hello('10.0.0.7:8701')).type, 'welcome');
      const closed = once(tracker.ws, 'close') as Promise<[number, Buffer]>;
      assert.equal((await admin(a, 'DELETE', '/v1/admin/trackers/credentials/10.0.0.7:8701')).body?.['links_closed'], 0);
      clock.advance(2_000);
      const [code] = await closed;
      assert.equal(code, CREDENTIAL_REVOKED_CLOSE);
      assert.equal(await status(bUrl, credential), 401);
    } finally {
      await tracker?.close();
      await a.close();
      await b.close();
    }
  });
});
