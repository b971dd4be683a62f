/**
 * Every JSON route refuses a body of another content type with 415
 * unsupported_media_type (docs/API.md), over a real HTTP request: a
 * `text/plain` body used to reach fastify's built-in text parser and come
 * back a 400 from the schema.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, seed, startServer, type Harness } from './helpers.js';

describe('control server: content types other than JSON', () => {
  let h: Harness;
  let base: string;
  before(async () => {
    h = await startServer({ expiryCheckMs: null });
    await seed(h);
    base = await h.server.listen(0);
  });
  after(() => h.close());

  const admin = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;
  const cases: [string, string, string, Record<string, string>][] = [
    ['text/plain', '/v1/programs/news/request', JSON.stringify({ user: 'alice', password: 'pw-alice' }), {}],
    ['text/plain; charset=utf-8', '/v1/programs/news/request', '{"user":"alice","password":"pw-alice"}', {}],
    ['application/xml', '/v1/programs/news/request', '<user>alice</user>', {}],
    ['application/x-www-form-urlencoded', '/v1/programs/news/request', 'user=alice&password=pw-alice', {}],
    ['text/plain', '/v1/admin/users', JSON.stringify({ name: 'mallory', password: 'pw' }), { authorization: admin }],
  ];
  for (const [type, path, body, headers] of cases) {
    it(`answers a ${type} body on POST ${path} with 415 unsupported_media_type`, async () => {
      const res = await fetch(`${base}${path}`, { method: 'POST', body, headers: { ...headers, 'content-type': type } });
      assert.equal(res.status, 415);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const answer = (await res.json()) as { error: { code: string; message: string } };
      assert.deepEqual(Object.keys(answer), ['error']);
      assert.equal(answer.error.code, 'unsupported_media_type');
      assert.match(answer.error.message, /content type; send application\/json/);
    });
  }

  it('still takes the same body as application/json, and keeps serving', async () => {
    const res = await fetch(`${base}/v1/admin/users`, {
      method: 'POST',
      body: JSON.stringify({ name: 'mallory', password: 'pw-mallory' }),
      headers: { authorization: admin, 'content-type': 'application/json' },
    });
    assert.ok(res.status < 300, `status ${res.status}`);
    assert.equal((await h.store.getUser('mallory'))?.name, 'mallory', 'the text/plain attempt created nothing, the JSON one did');
  });
});
