import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteControlStore } from '../../src/store/sqlite-control-store.js';
import { ManualClock } from '../../src/core/clock.js';
import { createControlServer, hashPassword, verifyPassword } from '../../src/control/index.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import { admin, adminAuth, newSourceKey, startServer, ADMIN_PASSWORD, TRACKER_SECRET, type Harness } from './helpers.js';

describe('admin routes', () => {
  let h: Harness;
  before(async () => {
    h = await startServer();
  });
  after(async () => {
    await h.close();
  });

  it('require admin credentials, with WWW-Authenticate on refusal', async () => {
    const anonymous = await h.server.app.inject({ method: 'GET', url: '/v1/admin/users' });
    assert.equal(anonymous.statusCode, 401);
    assert.match(String(anonymous.headers['www-authenticate']), /^Basic/);
    assert.equal((anonymous.json() as { error: { code: string } }).error.code, 'unauthorized');
    const wrong = await h.server.app.inject({ method: 'GET', url: '/v1/admin/users', headers: { authorization: adminAuth('nope') } });
    assert.equal(wrong.statusCode, 401);
    const garbage = await h.server.app.inject({ method: 'GET', url: '/v1/admin/users', headers: { authorization: 'Basic !!!' } });
    assert.equal(garbage.statusCode, 401);
  });

  it('refuse a valid user who is not an admin', async () => {
    await admin(h, 'POST', '/v1/admin/users', { name: 'viewer1', password: 'pw' });
    const res = await h.server.app.inject({ method: 'GET', url: '/v1/admin/users', headers: { authorization: adminAuth('pw', 'viewer1') } });
    assert.equal(res.statusCode, 401);
  });

  it('add, list and remove users; refuse duplicates, bad names and removing the admin', async () => {
    const created = await admin(h, 'POST', '/v1/admin/users', { name: 'dave.k_1', password: 'pw' });
    assert.equal(created.status, 201);
    assert.equal(created.body?.['name'], 'dave.k_1');
    assert.equal(created.body?.['is_admin'], false);
    assert.equal(created.body?.['password_hash'], undefined);
    assert.equal((await admin(h, 'POST', '/v1/admin/users', { name: 'dave.k_1', password: 'pw' })).status, 409);
    const bad = await admin(h, 'POST', '/v1/admin/users', { name: 'no spaces', password: 'pw' });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /name must match pattern/);
    const list = (await admin(h, 'GET', '/v1/admin/users')).body as { users: Array<{ name: string; is_admin: boolean }> };
    assert.deepEqual(
      list.users.map((u) => u.name),
      ['admin', 'dave.k_1', 'viewer1'],
    );
    assert.equal(list.users[0]?.is_admin, true);
    assert.equal((await admin(h, 'DELETE', '/v1/admin/users/dave.k_1')).status, 204);
    const again = await admin(h, 'DELETE', '/v1/admin/users/dave.k_1');
    assert.equal(again.status, 404);
    assert.equal((again.body as { error: { code: string } }).error.code, 'unknown_user');
    assert.equal((await admin(h, 'DELETE', '/v1/admin/users/admin')).status, 403);
  });

  it("add programs with the operator's source public key; the server keeps no private key", async () => {
    const sourceKey = newSourceKey();
    const created = await admin(h, 'POST', '/v1/admin/programs', { id: 'film', title: 'Film', length_s: 10, bitrate_bps: 8_000, packets_per_piece: 10, source_key: sourceKey });
    assert.equal(created.status, 201);
    assert.equal(created.body?.['data_size'], 10_000);
    assert.equal(created.body?.['piece_length'], 88 + 10 * 188);
    assert.equal(created.body?.['source_key'], sourceKey);
    assert.match(String(created.body?.['info_hash']), /^[0-9a-f]{40}$/);
    const listed = await admin(h, 'GET', '/v1/admin/programs');
    assert.doesNotMatch(listed.res.body, /private/);
    assert.equal((await h.store.getProgram('film'))?.sourcePrivateKey, '');
    assert.equal((await admin(h, 'POST', '/v1/admin/programs', { id: 'film', title: 'Again', source_key: newSourceKey() })).status, 409);
    assert.equal((await admin(h, 'POST', '/v1/admin/programs', { id: 'x', title: 'Bad', bitrate_bps: '9' })).status, 400);
    assert.equal((await admin(h, 'DELETE', '/v1/admin/programs/film')).status, 204);
    const gone = await admin(h, 'DELETE', '/v1/admin/programs/film');
    assert.equal((gone.body as { error: { code: string } }).error.code, 'unknown_program');
  });

  it('grant, list and revoke subscriptions, with clear errors', async () => {
    await admin(h, 'POST', '/v1/admin/users', { name: 'erin', password: 'pw' });
    await admin(h, 'POST', '/v1/admin/programs', { id: 'sport', title: 'Sport', source_key: newSourceKey() });
    const granted = await admin(h, 'PUT', '/v1/admin/subscriptions', { user: 'erin', program: 'sport', until: '2999-01-01' });
    assert.equal(granted.status, 200);
    assert.equal(granted.body?.['until'], '2999-01-01T00:00:00.000Z');
    assert.equal(granted.body?.['active'], true);
    const past = await admin(h, 'PUT', '/v1/admin/subscriptions', { user: 'erin', program: 'sport', until: '2000-01-01T00:00:00Z' });
    assert.equal(past.body?.['active'], false);
    const badDate = await admin(h, 'PUT', '/v1/admin/subscriptions', { user: 'erin', program: 'sport', until: 'next tuesday' });
    assert.equal(badDate.status, 400);
    assert.match(JSON.stringify(badDate.body), /until: not an ISO 8601 date/);
    const noUser = await admin(h, 'PUT', '/v1/admin/subscriptions', { user: 'zed', program: 'sport' });
    assert.equal((noUser.body as { error: { code: string } }).error.code, 'unknown_user');
    const noProgram = await admin(h, 'PUT', '/v1/admin/subscriptions', { user: 'erin', program: 'zzz' });
    assert.equal((noProgram.body as { error: { code: string } }).error.code, 'unknown_program');
    const list = (await admin(h, 'GET', '/v1/admin/subscriptions')).body as { subscriptions: Array<{ user: string; program: string }> };
    assert.deepEqual(list.subscriptions.map((s) => `${s.user}/${s.program}`), ['erin/sport']);
    const revoked = await admin(h, 'DELETE', '/v1/admin/subscriptions/erin/sport');
    assert.equal(revoked.status, 200);
    assert.deepEqual(revoked.body, { user: 'erin', program: 'sport', disconnects: [] });
    assert.equal((await admin(h, 'DELETE', '/v1/admin/subscriptions/erin/sport')).status, 404);
  });

  it('list sessions, open ones by default and all with ?all=1', async () => {
    const base = { user: 'erin', program: 'sport', role: 'viewer' as const, clientKey: 'k', ip: null, port: null, trackerId: null, joinedAt: null, endedAt: null, endReason: null };
    await h.store.createSession({ ...base, id: 'open1', state: 'admitted', createdAt: 1_000 });
    await h.store.createSession({ ...base, id: 'gone1', state: 'ended', createdAt: 2_000, endedAt: 3_000, endReason: 'stopped' });
    const open = (await admin(h, 'GET', '/v1/admin/sessions')).body as { sessions: Array<Record<string, unknown>> };
    assert.deepEqual(open.sessions.map((s) => s['id']), ['open1']);
    assert.equal(open.sessions[0]?.['since'], new Date(1_000).toISOString());
    const all = (await admin(h, 'GET', '/v1/admin/sessions?all=1')).body as { sessions: Array<Record<string, unknown>> };
    assert.deepEqual(all.sessions.map((s) => s['id']), ['open1', 'gone1']);
    assert.equal(all.sessions[1]?.['end_reason'], 'stopped');
    assert.equal(all.sessions[1]?.['ended_at'], new Date(3_000).toISOString());
    assert.equal((await admin(h, 'GET', '/v1/admin/sessions?all=maybe')).status, 400);
  });
});

describe('restarts', () => {
  it('keep the token signing key and pick up a changed admin password', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatecast-control-'));
    try {
      const path = join(dir, 'control.db');
      const first = await startServer({ store: new SqliteControlStore(path) });
      const key = first.server.controlKey;
      await first.close();

      const store = new SqliteControlStore(path);
      const second = await createControlServer({ store, clock: new ManualClock(), adminPassword: 'changed', trackerSecret: TRACKER_SECRET, webServer: webServerFactory() });
      try {
        assert.equal(second.controlKey, key);
        const oldPw = await second.app.inject({ method: 'GET', url: '/v1/admin/users', headers: { authorization: adminAuth(ADMIN_PASSWORD) } });
        assert.equal(oldPw.statusCode, 401);
        const newPw = await second.app.inject({ method: 'GET', url: '/v1/admin/users', headers: { authorization: adminAuth('changed') } });
        assert.equal(newPw.statusCode, 200);
      } finally {
        await second.close();
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('passwords', () => {
  it('hash with a salt and verify in constant time, rejecting malformed hashes', async () => {
    const a = await hashPassword('hunter2');
    const b = await hashPassword('hunter2');
    assert.match(a, /^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('hunter2', a), true);
    assert.equal(await verifyPassword('hunter3', a), false);
    assert.equal(await verifyPassword('hunter2', 'plain'), false);
    assert.equal(await verifyPassword('hunter2', 'scrypt$999999999$8$1$AA$AA'), false);
  });
});
