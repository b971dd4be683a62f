import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { pieceLength } from '../../src/core/piece.js';
import type { AdmissionResult } from '../../src/core/types.js';
import { createTokenVerifier } from '../../src/protocol/token.js';
import { DEFAULTS } from '../../src/core/config.js';
import { admin, FakeTracker, newClientKey, newSourceKey, startServer, startWithTracker, seed, type Harness } from './helpers.js';

type Started = Awaited<ReturnType<typeof startWithTracker>>;

async function request(h: Harness, program: string, body: unknown) {
  const res = await h.server.app.inject({ method: 'POST', url: `/v1/programs/${program}/request`, payload: body as object });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> & { error?: { code: string; message: string } } };
}

describe('admission (steps a–b)', () => {
  let h: Started;
  before(async () => {
    h = await startWithTracker();
  });
  after(async () => {
    await h.close();
  });

  it('admits a subscribed user with a session, a token and the program metadata', async () => {
    const ck = newClientKey();
    const res = await request(h, 'news', { user: 'alice', password: 'pw-alice', client_key: ck.publicKey });
    assert.equal(res.status, 200);
    const r = res.body as unknown as AdmissionResult;
    assert.match(r.session, /^[A-Za-z0-9_-]{16,}$/);
    assert.equal(r.token_expires_at, Math.floor(h.clock.now() / 1000) * 1000 + DEFAULTS.tokenTtlS * 1000);

    const programs = (await admin(h, 'GET', '/v1/admin/programs')).body as { programs: Array<{ source_key: string }> };
    const sourceKey = programs.programs[0]!.source_key;
    const m = r.metadata;
    assert.equal(m.program, 'news');
    assert.equal(m.title, 'News');
    assert.equal(m.info_hash, createHash('sha1').update(`gatecast-live:news:${sourceKey}`).digest('hex'));
    assert.equal(m.length_s, 3600);
    assert.equal(m.data_size, Math.ceil((3600 * 1_000_000) / 8));
    assert.equal(m.bitrate_bps, 1_000_000);
    assert.equal(m.packets_per_piece, DEFAULTS.packetsPerPiece);
    assert.equal(m.piece_length, pieceLength(DEFAULTS.packetsPerPiece));
    assert.equal(m.source_key, sourceKey);
    assert.equal(m.control_key, h.server.controlKey);
    assert.equal(m.tracker.ws, 'ws://127.0.0.1:6969/ws');
    const announce = new URL(m.tracker.announce);
    assert.equal(announce.origin + announce.pathname, 'http://127.0.0.1:6969/announce');
    assert.equal(announce.searchParams.get('token'), r.token);

    const claims = await (await createTokenVerifier(h.server.controlKey)).verify(r.token, { program: 'news', nowMs: h.clock.now() });
    assert.deepEqual(
      { sub: claims.sub, sid: claims.sid, prg: claims.prg, role: claims.role, ckey: claims.ckey },
      { sub: 'alice', sid: r.session, prg: 'news', role: 'viewer', ckey: ck.publicKey },
    );

    const session = await h.store.getSession(r.session);
    assert.equal(session?.state, 'admitted');
    assert.equal(session?.role, 'viewer');
    assert.equal(session?.clientKey, ck.publicKey);
  });

  it('gives a live program no length and no data size', async () => {
    await admin(h, 'POST', '/v1/admin/programs', { id: 'live', title: 'Live', source_key: newSourceKey() });
    await admin(h, 'PUT', '/v1/admin/subscriptions', { user: 'alice', program: 'live' });
    const res = await request(h, 'live', { user: 'alice', password: 'pw-alice', client_key: newClientKey().publicKey });
    assert.equal(res.status, 200);
    const m = (res.body as unknown as AdmissionResult).metadata;
    assert.equal(m.length_s, null);
    assert.equal(m.data_size, null);
    assert.equal(m.bitrate_bps, DEFAULTS.programBitrateBps);
  });

  const refusals: Array<[string, string, Record<string, unknown>, number, string, RegExp]> = [
    ['an unknown program', 'nothing', { user: 'alice', password: 'pw-alice' }, 404, 'unknown_program', /no such program: nothing/],
    ['a wrong password', 'news', { user: 'alice', password: 'wrong' }, 401, 'invalid_credentials', /wrong user name or password/],
    ['an unknown user', 'news', { user: 'mallory', password: 'pw-alice' }, 401, 'invalid_credentials', /wrong user name or password/],
  ];
  for (const [what, program, creds, status, code, message] of refusals) {
    it(`refuses ${what} with ${code}`, async () => {
      const res = await request(h, program, { ...creds, client_key: newClientKey().publicKey });
      assert.equal(res.status, status);
      assert.equal(res.body.error?.code, code);
      assert.match(res.body.error?.message ?? '', message);
    });
  }

  it('refuses a user without a subscription with not_subscribed', async () => {
    await admin(h, 'POST', '/v1/admin/users', { name: 'bob', password: 'pw-bob' });
    const res = await request(h, 'news', { user: 'bob', password: 'pw-bob', client_key: newClientKey().publicKey });
    assert.equal(res.status, 403);
    assert.equal(res.body.error?.code, 'not_subscribed');
    assert.match(res.body.error?.message ?? '', /no subscription/);
  });

  it('refuses an expired subscription with not_subscribed, and admits again once renewed', async () => {
    await admin(h, 'POST', '/v1/admin/users', { name: 'carol', password: 'pw-carol' });
    const until = new Date(h.clock.now() + 60_000).toISOString();
    await admin(h, 'PUT', '/v1/admin/subscriptions', { user: 'carol', program: 'news', until });
    const body = { user: 'carol', password: 'pw-carol', client_key: newClientKey().publicKey };
    assert.equal((await request(h, 'news', body)).status, 200);
    h.clock.advance(60_000);
    const res = await request(h, 'news', body);
    assert.equal(res.status, 403);
    assert.equal(res.body.error?.code, 'not_subscribed');
    assert.match(res.body.error?.message ?? '', /expired/);
    await admin(h, 'PUT', '/v1/admin/subscriptions', { user: 'carol', program: 'news', until: null });
    assert.equal((await request(h, 'news', body)).status, 200);
  });
});

describe('admission with several trackers (issue 12 part 3)', () => {
  it('lists every connected tracker, the preferred first, as trackers and one BEP 12 tier, each with the token; preferred round-robin', async () => {
    const h = await startWithTracker();
    const second = await FakeTracker.connect(h.url);
    try {
      second.send({ type: 'hello', tracker_id: 'tracker-2', announce_url: 'http://127.0.0.1:6970/announce', ws_url: 'ws://127.0.0.1:6970/ws', sessions: [] });
      await second.next();
      const firsts: string[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await request(h, 'news', { user: 'alice', password: 'pw-alice', client_key: newClientKey().publicKey });
        assert.equal(res.status, 200);
        const r = res.body as unknown as AdmissionResult;
        const m = r.metadata;
        const trackers = m.trackers ?? [];
        assert.equal(trackers.length, 2);
        assert.deepEqual(m.tracker, trackers[0], '`tracker` is the preferred one, first of `trackers`');
        assert.deepEqual(trackers.map((t) => t.ws).sort(), ['ws://127.0.0.1:6969/ws', 'ws://127.0.0.1:6970/ws']);
        for (const t of trackers) assert.equal(new URL(t.announce).searchParams.get('token'), r.token);
        assert.deepEqual(m.announce_list, [trackers.map((t) => t.announce)], 'one tier, in the same order');
        firsts.push(m.tracker.ws);
      }
      // The most recently connected first (the order a lone tracker had), then round-robin.
      assert.deepEqual(firsts, ['ws://127.0.0.1:6970/ws', 'ws://127.0.0.1:6969/ws', 'ws://127.0.0.1:6970/ws', 'ws://127.0.0.1:6969/ws'], 'spread round-robin');

      // A tracker gone from the control link is no longer listed.
      await second.close();
      await waitUntil(() => h.server.trackers().length === 1);
      const res = await request(h, 'news', { user: 'alice', password: 'pw-alice', client_key: newClientKey().publicKey });
      const m = (res.body as unknown as AdmissionResult).metadata;
      assert.deepEqual(m.trackers?.map((t) => t.ws), ['ws://127.0.0.1:6969/ws']);
      assert.equal(m.announce_list?.[0]?.length, 1);
    } finally {
      await second.close();
      await h.close();
    }
  });
});

async function waitUntil(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), 'condition not met within 2 s');
}

describe('admission without a tracker', () => {
  it('refuses with no_tracker (503) when no tracker is connected', async () => {
    const h = await startServer();
    try {
      await seed(h);
      const res = await request(h, 'news', { user: 'alice', password: 'pw-alice', client_key: newClientKey().publicKey });
      assert.equal(res.status, 503);
      assert.equal(res.body.error?.code, 'no_tracker');
    } finally {
      await h.close();
    }
  });
});

describe('malformed requests', () => {
  let h: Harness;
  before(async () => {
    h = await startServer();
    await seed(h);
  });
  after(async () => {
    await h.close();
  });

  const good = () => ({ user: 'alice', password: 'pw-alice', client_key: newClientKey().publicKey });
  const cases: Array<[string, { payload: string; contentType?: string }, number, RegExp]> = [
    ['bad JSON', { payload: '{"user": "alice",' }, 400, /not valid JSON/],
    ['an empty body', { payload: '' }, 400, /empty/],
    ['a missing field', { payload: JSON.stringify({ user: 'alice', password: 'x' }) }, 400, /client_key/],
    ['a wrong type', { payload: JSON.stringify({ ...good(), user: 123 }) }, 400, /user must be string/],
    ['a numeric string where a string is fine but a key is bad', { payload: JSON.stringify({ ...good(), client_key: 'abc' }) }, 400, /client_key/],
    ['an array body', { payload: '[1,2,3]' }, 400, /body must be object/],
    ['a huge string', { payload: JSON.stringify({ ...good(), password: 'x'.repeat(5_000) }) }, 400, /password must NOT have more than 1024/],
    ['a huge body', { payload: JSON.stringify({ ...good(), pad: 'x'.repeat(200_000) }) }, 413, /larger than/],
  ];
  for (const [what, { payload, contentType }, status, message] of cases) {
    it(`answers ${what} with ${status} invalid_request and keeps serving`, async () => {
      const res = await h.server.app.inject({
        method: 'POST',
        url: '/v1/programs/news/request',
        payload,
        headers: { 'content-type': contentType ?? 'application/json' },
      });
      assert.equal(res.statusCode, status);
      const body = res.json() as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'invalid_request');
      assert.match(body.error.message, message);
      const health = await h.server.app.inject({ method: 'GET', url: '/v1/health' });
      assert.equal(health.statusCode, 200);
    });
  }

  it('strips unknown fields rather than refusing them', async () => {
    const res = await h.server.app.inject({
      method: 'POST',
      url: '/v1/programs/news/request',
      payload: { ...good(), extra: 'ignored' },
    });
    assert.equal(res.statusCode, 503); // got past validation, stopped at the missing tracker
  });

  it('answers an unknown route with a JSON 404', async () => {
    const res = await h.server.app.inject({ method: 'GET', url: '/nope?x=1' });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { error: { code: 'not_found', message: 'no route GET /nope' } });
  });

  it('serves its name, version and links at /, and health', async () => {
    const root = (await h.server.app.inject({ method: 'GET', url: '/' })).json() as { service: string; version: string; links: Record<string, string> };
    assert.equal(root.service, 'gatecast control server');
    assert.match(root.version, /^\d+\.\d+\.\d+/);
    assert.equal(root.links['health'], '/v1/health');
    assert.equal(root.links['openapi'], '/openapi.json');
    const doc = await h.server.app.inject({ method: 'GET', url: root.links['openapi'] as string });
    assert.equal(doc.statusCode, 200);
    const health = (await h.server.app.inject({ method: 'GET', url: '/v1/health' })).json() as { status: string; trackers: number };
    assert.deepEqual({ status: health.status, trackers: health.trackers }, { status: 'degraded', trackers: 0 });
  });
});
