/**
 * Which failures mean "the engine cannot be reached right now" (answered
 * `unavailable`, retried by clients) and which stay internal errors, and the
 * control server's answer to one: a 503 with Retry-After and a message that
 * says what to do, while other failures stay a 500 that reveals nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { installErrorHandling } from '../../src/control/error-handler.js';
import { InternalError } from '../../src/core/errors.js';
import { isUnavailable, UnavailableError } from '../../src/core/unavailable.js';

const errno = (code: string, message: string): Error => Object.assign(new Error(message), { code });

test('connection failures of PostgreSQL and Redis are unavailable; bugs and refusals of the query are not', () => {
  for (const e of [
    new UnavailableError('swarm store: Redis at redis://x failed on sample'),
    errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
    errno('ECONNRESET', 'read ECONNRESET'),
    errno('57P01', 'terminating connection due to administrator command'),
    errno('08006', 'connection failure'),
    new Error('Connection terminated unexpectedly'),
    new Error('timeout exceeded when trying to connect'),
    new Error("Stream isn't writeable and enableOfflineQueue options is false"),
    new InternalError('swarm store failed', { cause: errno('EPIPE', 'write EPIPE') }),
  ]) {
    assert.equal(isUnavailable(e), true, e.message);
  }
  for (const e of [
    new Error('unexpected reply: not a list of pairs'),
    errno('23505', 'duplicate key value violates unique constraint'),
    errno('42P01', 'relation "users" does not exist'),
    new TypeError('x is undefined'),
    'ECONNREFUSED',
    null,
  ]) {
    assert.equal(isUnavailable(e), false, String(e instanceof Error ? e.message : e));
  }
});

test('the control server answers an unreachable database with 503 unavailable and Retry-After, anything else with an opaque 500', async () => {
  const app = Fastify({ logger: false });
  installErrorHandling(app, 1024);
  app.get('/db-down', async () => {
    throw errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432');
  });
  app.get('/bug', async () => {
    throw new TypeError('secret detail');
  });
  const down = await app.inject({ method: 'GET', url: '/db-down' });
  assert.equal(down.statusCode, 503);
  assert.equal(down.headers['retry-after'], '2');
  assert.deepEqual(down.json(), { error: { code: 'unavailable', message: 'the control server cannot reach its database right now; try again shortly' } });
  assert.doesNotMatch(down.body, /5432|ECONNREFUSED/, 'nothing of the engine leaks');
  const bug = await app.inject({ method: 'GET', url: '/bug' });
  assert.equal(bug.statusCode, 500);
  assert.deepEqual(bug.json(), { error: { code: 'internal', message: 'internal error' } });
  await app.close();
});
