/**
 * The tracker's end of the control link with its own credential (ID.SECRET)
 * against a real control server: welcomed as ID; told why when its id is not
 * its credential's (4403) and when its credential is revoked (4401).
 */
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { ManualClock } from '../../src/core/clock.js';
import { ControlLinkClient, credentialTrackerId } from '../../src/tracker/control-link-client.js';
import { admin, startServer, type Harness } from '../control/helpers.js';

function logLines(): { lines: string[]; logger: pino.Logger } {
  const lines: string[] = [];
  return { lines, logger: pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }) };
}

async function until(what: string, cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('control link client with its own credential', { timeout: 30_000 }, () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setUp(): Promise<{ h: Harness; url: string; credential: string }> {
    const h = await startServer();
    cleanups.push(() => h.close());
    const url = await h.server.listen(0);
    const r = await admin(h, 'POST', '/v1/admin/trackers/credentials', { id: '127.0.0.1:8701' });
    return { h, url, credential: String(r.body?.['credential']) };
  }

  function client(url: string, secret: string, trackerId: string, logger: pino.Logger): ControlLinkClient {
    const c = new ControlLinkClient({
      controlUrl: url,
      secret,
      trackerId,
      announceUrl: 'http://127.0.0.1:8701/announce',
      wsUrl: 'ws://127.0.0.1:8701/ws',
      clock: new ManualClock(Date.now()),
      logger,
      sessions: () => [],
      onWelcome: async () => undefined,
      onDisconnect: () => undefined,
    });
    cleanups.push(() => c.stop());
    c.start();
    return c;
  }

  it('reads the tracker id out of ID.SECRET (ids may hold dots), and nothing out of a shared secret', () => {
    assert.equal(credentialTrackerId(`127.0.0.1:8701.gct_${'x'.repeat(43)}`), '127.0.0.1:8701');
    assert.equal(credentialTrackerId('tracker.secret'), null);
    assert.equal(credentialTrackerId(`gct_${'x'.repeat(43)}`), null);
  });

  it('is welcomed as its credential id; with another id it is closed and logs why', async () => {
    const { h, url, credential } = await setUp();
    const good = client(url, credential, '127.0.0.1:8701', logLines().logger);
    await good.ready;
    assert.ok(h.server.registry.get('127.0.0.1:8701'));
    await good.stop();

    const { lines, logger } = logLines();
    const bad = client(url, credential, '127.0.0.1:8702', logger);
    await until('the refusal in the log', () => lines.some((l) => l.includes('is not our credential')));
    assert.equal(bad.connected, false);
    assert.equal(h.server.registry.get('127.0.0.1:8702'), undefined);
  });

  it('logs that its credential was revoked when the control server closes its link for it', async () => {
    const { h, url, credential } = await setUp();
    const { lines, logger } = logLines();
    const c = client(url, credential, '127.0.0.1:8701', logger);
    await c.ready;
    assert.equal((await admin(h, 'DELETE', '/v1/admin/trackers/credentials/127.0.0.1:8701')).status, 200);
    await until('the revocation in the log', () => lines.some((l) => l.includes("this tracker's credential was revoked")));
    assert.ok(!lines.join('').includes(credential), 'the credential is never logged');
  });
});
