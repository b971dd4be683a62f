import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import type { AdmissionResult } from '../../src/core/types.js';
import { createTokenVerifier } from '../../src/protocol/token.js';
import { admin, newClientKey, startWithTracker } from './helpers.js';

type Started = Awaited<ReturnType<typeof startWithTracker>>;

const proof = (key: ReturnType<typeof newClientKey>['key'], sid: string, ts: number): string =>
  sign(null, Buffer.from(`gatecast-renew:${sid}:${ts}`), key).toString('base64url');

describe('token renewal', () => {
  let h: Started;
  before(async () => {
    h = await startWithTracker({ tokenTtlS: 60 });
  });
  after(async () => {
    await h.close();
  });

  async function admit(user = 'alice', password = 'pw-alice') {
    const ck = newClientKey();
    const res = await h.server.app.inject({
      method: 'POST',
      url: '/v1/programs/news/request',
      payload: { user, password, client_key: ck.publicKey },
    });
    assert.equal(res.statusCode, 200);
    return { ck, result: res.json() as AdmissionResult };
  }

  async function renew(sid: string, body: unknown) {
    const res = await h.server.app.inject({ method: 'POST', url: `/v1/sessions/${sid}/renew`, payload: body as object });
    return { status: res.statusCode, body: res.json() as { token?: string; token_expires_at?: number; error?: { code: string; message: string } } };
  }

  it('renews with a fresh token for a valid proof', async () => {
    const { ck, result } = await admit();
    h.clock.advance(30_000);
    const ts = h.clock.now();
    const res = await renew(result.session, { ts, sig: proof(ck.key, result.session, ts) });
    assert.equal(res.status, 200);
    assert.equal(res.body.token_expires_at, Math.floor(ts / 1000) * 1000 + 60_000);
    const claims = await (await createTokenVerifier(h.server.controlKey)).verify(res.body.token, { nowMs: ts, program: 'news' });
    assert.equal(claims.sid, result.session);
    assert.equal(claims.ckey, ck.publicKey);
    assert.equal(claims.role, 'viewer');
  });

  it('refuses a proof signed by another key, for another session, or too old', async () => {
    const { ck, result } = await admit();
    const ts = h.clock.now();
    const other = newClientKey();
    for (const sig of [proof(other.key, result.session, ts), proof(ck.key, 'another-session', ts)]) {
      const res = await renew(result.session, { ts, sig });
      assert.equal(res.status, 401);
      assert.equal(res.body.error?.code, 'proof_invalid');
    }
    const old = ts - 60_000;
    const res = await renew(result.session, { ts: old, sig: proof(ck.key, result.session, old) });
    assert.equal(res.status, 401);
    assert.equal(res.body.error?.code, 'proof_invalid');
    assert.match(res.body.error?.message ?? '', /60 s/);
  });

  it('refuses an unknown session with unknown_session', async () => {
    const ts = h.clock.now();
    const res = await renew('no-such-session', { ts, sig: proof(newClientKey().key, 'no-such-session', ts) });
    assert.equal(res.status, 404);
    assert.equal(res.body.error?.code, 'unknown_session');
  });

  it('refuses an ended session with session_ended', async () => {
    const { ck, result } = await admit();
    await h.store.updateSession(result.session, { state: 'ended', endedAt: h.clock.now(), endReason: 'kicked' });
    const ts = h.clock.now();
    const res = await renew(result.session, { ts, sig: proof(ck.key, result.session, ts) });
    assert.equal(res.status, 403);
    assert.equal(res.body.error?.code, 'session_ended');
  });

  it('refuses once the subscription has expired, with not_subscribed, before any check ends the session', async () => {
    const { ck, result } = await admit();
    await admin(h, 'PUT', '/v1/admin/subscriptions', { user: 'alice', program: 'news', until: '2000-01-01' });
    const ts = h.clock.now();
    const res = await renew(result.session, { ts, sig: proof(ck.key, result.session, ts) });
    assert.equal(res.status, 403);
    assert.equal(res.body.error?.code, 'not_subscribed');
    await admin(h, 'PUT', '/v1/admin/subscriptions', { user: 'alice', program: 'news' });
  });

  it('refuses once the subscription is revoked, with session_ended: revocation ends the session', async () => {
    const { ck, result } = await admit();
    assert.equal((await admin(h, 'DELETE', '/v1/admin/subscriptions/alice/news')).status, 200);
    const ts = h.clock.now();
    const res = await renew(result.session, { ts, sig: proof(ck.key, result.session, ts) });
    assert.equal(res.status, 403);
    assert.equal(res.body.error?.code, 'session_ended');
    await admin(h, 'PUT', '/v1/admin/subscriptions', { user: 'alice', program: 'news' });
  });

  it('refuses a malformed renewal body with 400', async () => {
    const res = await renew('x', { ts: 'now', sig: 'abc' });
    assert.equal(res.status, 400);
    assert.equal(res.body.error?.code, 'invalid_request');
  });

  it('admits a broadcaster in the source role and renews its token', async () => {
    const ck = newClientKey();
    const res = await admin(h, 'POST', '/v1/admin/programs/news/source', { client_key: ck.publicKey });
    assert.equal(res.status, 200);
    const body = res.body as unknown as AdmissionResult;
    assert.equal('source_private_key' in body, false, 'the source admission carries no signing key');
    const verifier = await createTokenVerifier(h.server.controlKey);
    const claims = await verifier.verify(body.token, { nowMs: h.clock.now(), program: 'news' });
    assert.equal(claims.role, 'source');
    assert.equal(claims.sub, 'admin');
    assert.equal((await h.store.getSession(body.session))?.role, 'source');

    const ts = h.clock.now();
    const renewed = await renew(body.session, { ts, sig: proof(ck.key, body.session, ts) });
    assert.equal(renewed.status, 200);
    assert.equal((await verifier.verify(renewed.body.token, { nowMs: ts })).role, 'source');
  });

  it('refuses broadcaster admission without admin credentials', async () => {
    const res = await h.server.app.inject({
      method: 'POST',
      url: '/v1/admin/programs/news/source',
      payload: { client_key: newClientKey().publicKey },
    });
    assert.equal(res.statusCode, 401);
  });
});
