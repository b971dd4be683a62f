/**
 * A session admitted but never reported joined by a tracker (a `watch` that
 * died after admission) is ended by the control server's periodic check
 * (outcome not_joined) once no token of it can still be valid: a token
 * lifetime plus clock skew after its admission, counted from the control
 * server's start at the earliest (joins made while it was down arrive once
 * the trackers reconnect). A session that joined, or was admitted recently,
 * is left alone.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { RENEW_SKEW_MS } from '../../src/control/admission.js';
import { REASON_NEVER_JOINED } from '../../src/control/session-limit.js';
import { ManualClock } from '../../src/core/clock.js';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';
import { FakeTracker, newClientKey, seed, startServer, startWithTracker, type Harness } from './helpers.js';

const TTL_S = 30;
const BOUND_MS = TTL_S * 1000 + RENEW_SKEW_MS;

async function admitAlice(h: Harness): Promise<string> {
  const res = await h.server.app.inject({
    method: 'POST',
    url: '/v1/programs/news/request',
    payload: { user: 'alice', password: 'pw-alice', client_key: newClientKey().publicKey },
  });
  assert.equal(res.statusCode, 200, res.body);
  return (res.json() as { session: string }).session;
}

async function waitFor(what: string, cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if (await cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  assert.fail(`timed out waiting for ${what}`);
}

it('ends a session admitted over a token lifetime plus a minute ago that never joined; not one that joined, nor a recent one', async () => {
  const h = await startWithTracker({ tokenTtlS: TTL_S, expiryCheckMs: null });
  try {
    const dead = await admitAlice(h);
    const joined = await admitAlice(h);
    h.tracker.send({ type: 'join', id: 'j1', sid: joined, ip: '10.0.0.9', port: 6881, at: h.clock.now() });
    assert.deepEqual(await h.tracker.next(), { type: 'ack', id: 'j1' });
    h.clock.advance(BOUND_MS - 10_000);
    const recent = await admitAlice(h);
    h.clock.advance(10_000 - 1);
    // Not yet over the bound: a token of `dead` could still be valid.
    await h.server.orchestrator.checkSubscriptions();
    assert.equal((await h.store.getSession(dead))?.state, 'admitted');
    h.clock.advance(2);
    await h.server.orchestrator.checkSubscriptions();
    await h.server.orchestrator.idle();
    const ended = await h.store.getSession(dead);
    assert.equal(ended?.state, 'ended');
    const [d] = await h.store.listDisconnects({ sid: dead });
    assert.equal(d?.outcome, 'not_joined');
    assert.equal(d?.reason, REASON_NEVER_JOINED);
    assert.equal((await h.store.getSession(joined))?.state, 'joined');
    assert.equal((await h.store.getSession(recent))?.state, 'admitted');
  } finally {
    await h.close();
  }
});

it('the periodic check does it on the injected clock', async () => {
  const h = await startWithTracker({ tokenTtlS: TTL_S });
  try {
    const dead = await admitAlice(h);
    h.clock.advance(BOUND_MS - 5_000);
    await h.server.orchestrator.idle();
    assert.equal((await h.store.getSession(dead))?.state, 'admitted');
    // One check period at a time (a check skips its turn while the previous one still runs), past the bound.
    await waitFor('the never-joined session to end', async () => {
      h.clock.advance(5_000);
      return (await h.store.getSession(dead))?.state === 'ended';
    });
    const [d] = await h.store.listDisconnects({ sid: dead });
    assert.equal(d?.outcome, 'not_joined');
  } finally {
    await h.close();
  }
});

it('after a control restart, an old admitted session gets the bound again from the restart', async () => {
  const store = new SqliteControlStore(':memory:');
  const clock = new ManualClock(Date.now());
  const first = await startServer({ store, clock, tokenTtlS: TTL_S, expiryCheckMs: null });
  await seed(first);
  const tracker = await FakeTracker.connect(await first.server.listen(0));
  await tracker.hello();
  const sid = await admitAlice(first);
  await tracker.close();
  await first.server.close();
  // Down for longer than the bound: the tracker may have queued this session's join meanwhile.
  clock.advance(BOUND_MS + 1);
  const second = await startServer({ store, clock, tokenTtlS: TTL_S, expiryCheckMs: null });
  try {
    await second.server.orchestrator.checkSubscriptions();
    assert.equal((await store.getSession(sid))?.state, 'admitted', 'not judged before its join could be reported');
    clock.advance(BOUND_MS + 1);
    await second.server.orchestrator.checkSubscriptions();
    assert.equal((await store.getSession(sid))?.state, 'ended');
  } finally {
    await second.close();
  }
});
