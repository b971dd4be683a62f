/**
 * URLs fastify's router refuses before any route runs — a broken
 * percent-encoding (400), a path parameter over maxParamLength (414) — answer
 * in docs/API.md's one error shape, {error:{code,message}}, over real HTTP
 * (they used to come back as fastify's {error:"Bad Request",code:"FST_ERR_…"}).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { MAX_PARAM_LENGTH } from '../../src/control/framework-errors.js';
import { adminAuth, seed, startServer, type Harness } from './helpers.js';

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/** A raw request: fetch() would normalise a broken percent-encoding before sending it. */
function rawRequest(method: string, base: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function apiError(answer: Answer): { code: string; message: string } {
  assert.match(answer.contentType, /^application\/json/);
  const parsed = JSON.parse(answer.body) as { error?: { code?: unknown; message?: unknown } };
  assert.deepEqual(Object.keys(parsed), ['error'], `one shape for every error: ${answer.body}`);
  assert.equal(typeof parsed.error?.code, 'string');
  assert.equal(typeof parsed.error?.message, 'string');
  return parsed.error as { code: string; message: string };
}

describe('control server: URLs the router refuses', () => {
  let h: Harness;
  let base: string;
  before(async () => {
    h = await startServer({ expiryCheckMs: null });
    await seed(h);
    base = await h.server.listen(0);
  });
  after(() => h.close());

  for (const broken of ['%zz', '%E0%A4%A', 'a%2', '%']) {
    it(`answers a broken percent-encoding (${broken}) in a path parameter with 400 invalid_request`, async () => {
      const answer = await rawRequest('GET', base, `/v1/admin/disconnects/${broken}`, { authorization: adminAuth() });
      assert.equal(answer.status, 400);
      const err = apiError(answer);
      assert.equal(err.code, 'invalid_request');
      assert.match(err.message, /percent-encoding/);
    });
  }

  it('answers a broken percent-encoding on a public route the same way, without credentials', async () => {
    const answer = await rawRequest('DELETE', base, '/v1/devices/%C3%28%zz');
    assert.equal(answer.status, 400);
    assert.equal(apiError(answer).code, 'invalid_request');
  });

  it(`answers a path parameter over ${MAX_PARAM_LENGTH} characters with 414 invalid_request`, async () => {
    const answer = await rawRequest('GET', base, `/v1/admin/disconnects/${'x'.repeat(MAX_PARAM_LENGTH + 1)}`, { authorization: adminAuth() });
    assert.equal(answer.status, 414);
    const err = apiError(answer);
    assert.equal(err.code, 'invalid_request');
    assert.equal(err.message, `a path parameter is longer than ${MAX_PARAM_LENGTH} characters`);
    assert.doesNotMatch(err.message, /xxxxxxxxxx/, 'the parameter is not echoed back');
  });

  it(`still routes a parameter of exactly ${MAX_PARAM_LENGTH} characters and well-formed encodings`, async () => {
    const long = await rawRequest('GET', base, `/v1/admin/disconnects/${'x'.repeat(MAX_PARAM_LENGTH)}`, { authorization: adminAuth() });
    assert.equal(long.status, 404);
    assert.equal(apiError(long).code, 'not_found');
    const encoded = await rawRequest('GET', base, `/v1/admin/disconnects/${encodeURIComponent('é x')}`, { authorization: adminAuth() });
    assert.equal(encoded.status, 404);
    assert.match(apiError(encoded).message, /no such disconnect: é x/);
  });

  it('keeps serving after the refusals', async () => {
    const answer = await rawRequest('GET', base, '/v1/health');
    assert.equal(answer.status, 200);
  });
});
