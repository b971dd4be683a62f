/**
 * Program signing keys as an attacker with the admin password would go after
 * them: the control server never makes one, never hands one out, and a key it
 * held from before is refused at source admission until rekeyed, then erased.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { rawPublicKey } from '../../src/core/piece.js';
import { admin, FakeTracker, newClientKey, newSourceKey, seed, startServer, type Harness } from './helpers.js';

const errorOf = (body: Record<string, unknown> | undefined): { code: string; message: string } => (body as { error: { code: string; message: string } }).error;

describe('program signing keys', () => {
  let h: Harness;
  let tracker: FakeTracker;
  let legacyPrivate: string;
  before(async () => {
    h = await startServer();
    const url = await h.server.listen(0);
    tracker = await FakeTracker.connect(url);
    await tracker.hello('t-keys');
    await seed(h);
    const legacy = generateKeyPairSync('ed25519').privateKey;
    legacyPrivate = legacy.export({ format: 'der', type: 'pkcs8' }).toString('base64url');
    // A row from before: the control server made this pair and holds its private half.
    await h.store.createProgram({
      id: 'old',
      title: 'Old',
      bitrateBps: 1_000_000,
      lengthS: null,
      sourcePublicKey: rawPublicKey(legacy),
      sourcePrivateKey: legacyPrivate,
      packetsPerPiece: 50,
      createdAt: h.clock.now(),
    });
  });
  after(async () => {
    await tracker.close();
    await h.close();
  });

  it('refuses to create a program without source_key (the server makes no key pair), and a malformed one', async () => {
    const res = await admin(h, 'POST', '/v1/admin/programs', { id: 'keyless', title: 'Keyless' });
    assert.equal(res.status, 400);
    assert.equal(errorOf(res.body).code, 'invalid_request');
    assert.match(errorOf(res.body).message, /source_key is required: make the key pair where the broadcaster runs; gatecast admin programs add does/);
    assert.equal(await h.store.getProgram('keyless'), undefined);
    for (const bad of ['not-a-key', 'A'.repeat(42), 'A'.repeat(44), `${'A'.repeat(42)}+`]) {
      const r = await admin(h, 'POST', '/v1/admin/programs', { id: 'keyless', title: 'Keyless', source_key: bad });
      assert.equal(r.status, 400, bad);
    }
    assert.equal(await h.store.getProgram('keyless'), undefined);
    for (const p of await h.store.listPrograms()) if (p.id !== 'old') assert.equal(p.sourcePrivateKey, '', p.id);
  });

  it('a source admission with the admin password carries no private key, for any program', async () => {
    for (const program of ['news', 'old']) {
      const res = await admin(h, 'POST', `/v1/admin/programs/${program}/source`, { client_key: newClientKey().publicKey });
      assert.doesNotMatch(res.res.body, /private/i, program);
      assert.ok(!res.res.body.includes(legacyPrivate), program);
    }
    const news = await admin(h, 'POST', '/v1/admin/programs/news/source', { client_key: newClientKey().publicKey });
    assert.equal(news.status, 200);
    assert.deepEqual(Object.keys(news.body ?? {}).sort(), ['metadata', 'session', 'token', 'token_expires_at']);
  });

  it('a server-keyed program: 409 source_key_on_server telling the operator to rekey; no session is opened', async () => {
    const sessionsBefore = (await h.store.listSessions({ program: 'old', includeEnded: true })).length;
    const res = await admin(h, 'POST', '/v1/admin/programs/old/source', { client_key: newClientKey().publicKey });
    assert.equal(res.status, 409);
    assert.equal(errorOf(res.body).code, 'source_key_on_server');
    assert.match(errorOf(res.body).message, /gatecast admin programs rekey old/);
    assert.equal((await h.store.listSessions({ program: 'old', includeEnded: true })).length, sessionsBefore);
  });

  it('PATCH source_key replaces the public key, erases the held private key, changes the info hash and ends the old sessions', async () => {
    await admin(h, 'PUT', '/v1/admin/subscriptions', { user: 'alice', program: 'old' });
    const viewer = await h.server.app.inject({
      method: 'POST',
      url: '/v1/programs/old/request',
      payload: { user: 'alice', password: 'pw-alice', client_key: newClientKey().publicKey },
    });
    assert.equal(viewer.statusCode, 200, viewer.body);
    const sid = (viewer.json() as { session: string }).session;
    const before = (await admin(h, 'GET', '/v1/admin/programs')).body as { programs: Array<{ id: string; info_hash: string }> };

    assert.equal((await admin(h, 'PATCH', '/v1/admin/programs/old', { source_key: 'not-a-key' })).status, 400);
    assert.equal((await admin(h, 'PATCH', '/v1/admin/programs/old', {})).status, 400);
    assert.equal(errorOf((await admin(h, 'PATCH', '/v1/admin/programs/nosuch', { source_key: newSourceKey() })).body).code, 'unknown_program');
    assert.equal((await h.store.getProgram('old'))?.sourcePrivateKey, legacyPrivate, 'refused patches change nothing');

    const key = newSourceKey();
    const res = await admin(h, 'PATCH', '/v1/admin/programs/old', { source_key: key });
    assert.equal(res.status, 200);
    assert.equal(res.body?.['source_key'], key);
    assert.notEqual(res.body?.['info_hash'], before.programs.find((p) => p.id === 'old')?.info_hash);
    assert.doesNotMatch(res.res.body, /private/i);
    const stored = await h.store.getProgram('old');
    assert.equal(stored?.sourcePublicKey, key);
    assert.equal(stored?.sourcePrivateKey, '', 'the private key the server held is erased');
    assert.notEqual((await h.store.getSession(sid))?.endedAt ?? null, null, "the viewer's session on the old info hash ended");

    const src = await admin(h, 'POST', '/v1/admin/programs/old/source', { client_key: newClientKey().publicKey });
    assert.equal(src.status, 200);
    assert.equal((src.body as { metadata: { source_key: string } }).metadata.source_key, key);
  });
});
