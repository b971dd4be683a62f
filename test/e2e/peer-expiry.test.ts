/**
 * A peer connection does not outlive its token: with 4-second tokens, two
 * real viewers stay connected while each renews (the renewed token travels
 * over the connection), and when one stops renewing, the other closes their
 * connection at that token's expiry.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { startLocalSystem, type LocalSystem } from '../../src/cli/local-system.js';
import { waitFor } from './helpers.js';

let sys: LocalSystem | null = null;
after(async () => {
  await sys?.stop();
});

function expiryOf(token: string): number {
  const body = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp: number };
  return body.exp * 1000;
}

test('an established peer connection is kept while renewed tokens arrive over it, and closed at expiry when none does', { timeout: 60_000 }, async () => {
  sys = await startLocalSystem({ adminPassword: 'peer-expiry-admin', tokenTtlS: 4 });
  await sys.broadcast('ch1', { kind: 'test-pattern', bitrateBps: 2_000_000 });
  const alice = (await sys.viewer('alice', 'ch1', { http: false })).viewer;
  const bob = (await sys.viewer('bob', 'ch1', { http: false })).viewer;
  await waitFor('bob connected to alice', () => bob.swarm.peerList().some((p) => p.sid === alice.sid), 10_000);
  const left: Array<{ sid: string; reason: string }> = [];
  bob.swarm.on('peer-left', (e) => left.push(e));

  // Renewals: alice's first token expires, her connection to bob stays.
  const firstExpiry = expiryOf(alice.session.token);
  await waitFor('past the first token of alice', () => Date.now() > firstExpiry + 500, 15_000);
  assert.ok(expiryOf(alice.session.token) > firstExpiry, 'alice renewed');
  assert.deepEqual(left.filter((e) => e.sid === alice.sid), [], 'bob kept alice past her first token');
  assert.ok(bob.swarm.peerList().some((p) => p.sid === alice.sid));

  // Alice stops renewing: bob closes at her last token's expiry.
  alice.session.stop();
  const lastExpiry = expiryOf(alice.session.token);
  const gone = await waitFor('bob drops alice', () => left.find((e) => e.sid === alice.sid), 15_000);
  assert.match(gone.reason, /^token_expired: /);
  assert.ok(Date.now() >= lastExpiry, 'not before the token expired');
  // Nobody serves her past it: the source closes too, and bob refuses her again.
  await waitFor('alice has no peer left', () => alice.swarm.peerCount === 0, 10_000);
});
