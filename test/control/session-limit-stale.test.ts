/**
 * `--on-limit refuse` and a session that never joined: a `watch` that was
 * admitted and then died (crashed, or never reached the tracker) left its
 * session `admitted`, and nothing else ever ends it. It must not count
 * against the limit for good: once no token of it can still be valid (a
 * token lifetime plus clock skew after it was admitted) it is ended (outcome
 * not_joined), and the user's next sign-in is admitted.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { DEFAULTS } from '../../src/core/config.js';
import { createControlServer } from '../../src/control/index.js';
import { RENEW_SKEW_MS } from '../../src/control/admission.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';
import { ADMIN_PASSWORD, FakeTracker, newClientKey, seed } from './helpers.js';

it('--on-limit refuse: a session admitted but never joined stops counting once its tokens are dead', async () => {
  const store = new SqliteControlStore(':memory:');
  const clock = new ManualClock(Date.now());
  const server = await createControlServer({
    store,
    clock,
    adminPassword: ADMIN_PASSWORD,
    trackerSecret: 'ts',
    onLimit: 'refuse',
    maxSessions: 1,
    expiryCheckMs: null,
    linkKeepaliveMs: null,
    webServer: webServerFactory(),
  });
  const h = { server, store, clock, close: async () => undefined };
  const signIn = async (): Promise<{ status: number; body: { session: string; error?: { code: string } } }> => {
    const res = await server.app.inject({
      method: 'POST',
      url: '/v1/programs/news/request',
      payload: { user: 'alice', password: 'pw-alice', client_key: newClientKey().publicKey },
    });
    return { status: res.statusCode, body: res.json() };
  };
  try {
    await seed(h);
    const t = await FakeTracker.connect(await server.listen(0), 'ts');
    await t.hello();
    const crashed = await signIn();
    assert.equal(crashed.status, 200);
    // Within the first session's token lifetime it may still join: the limit holds.
    assert.equal((await signIn()).status, 409);
    clock.advance(DEFAULTS.tokenTtlS * 1000 + RENEW_SKEW_MS + 1);
    const next = await signIn();
    assert.equal(next.status, 200, 'the user is not locked out by a session that can no longer play');
    assert.equal((await store.getSession(crashed.body.session))?.state, 'ended');
    await t.close();
  } finally {
    await server.close();
    await store.close();
  }
});
