import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { rawPublicKey } from '../../src/core/piece.js';
import { ClientError } from '../../src/core/errors.js';
import { createTokenVerifier, outageTolerant, signAccessToken } from '../../src/protocol/token.js';
import { ManualClock } from '../../src/core/clock.js';
import { ControlOutage } from '../../src/core/outage.js';

const claims = { sub: 'alice', sid: 's1', prg: 'ch1', role: 'viewer' as const, ckey: 'k'.repeat(43) };

function code(err: unknown): string {
  return err instanceof ClientError ? err.code : String(err);
}

test('a verified token is accepted again while valid, and still refused once expired or for another program', async () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const verifier = await createTokenVerifier(rawPublicKey(privateKey));
  const now = 1_800_000_000_000;
  const { token } = await signAccessToken(privateKey, claims, now, 60);
  assert.equal((await verifier.verify(token, { program: 'ch1', nowMs: now })).sid, 's1');
  // Second time from memory: same answer, same checks.
  assert.equal((await verifier.verify(token, { program: 'ch1', nowMs: now + 1_000 })).sid, 's1');
  await assert.rejects(verifier.verify(token, { program: 'ch2', nowMs: now + 1_000 }), (e) => code(e) === 'token_wrong_program');
  await assert.rejects(verifier.verify(token, { nowMs: now + 60_000 }), (e) => code(e) === 'token_expired');
});

test('forged, missing and foreign tokens are refused with their own codes', async () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519').privateKey;
  const verifier = await createTokenVerifier(rawPublicKey(privateKey));
  const now = 1_800_000_000_000;
  const { token } = await signAccessToken(privateKey, claims, now, 60);
  const { token: foreign } = await signAccessToken(other, claims, now, 60);
  const [head, , sig] = token.split('.');
  const tampered = `${head}.${Buffer.from(JSON.stringify({ ...claims, sub: 'mallory' })).toString('base64url')}.${sig}`;
  await assert.rejects(verifier.verify(undefined, { nowMs: now }), (e) => code(e) === 'token_missing');
  await assert.rejects(verifier.verify(foreign, { nowMs: now }), (e) => code(e) === 'token_invalid');
  await assert.rejects(verifier.verify(tampered, { nowMs: now }), (e) => code(e) === 'token_invalid');
  await assert.rejects(verifier.verify('not.a.jwt', { nowMs: now }), (e) => code(e) === 'token_invalid');
});

test('during a control outage an expired token that was valid at its start is accepted until the grace ends, and nothing else is', async () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519').privateKey;
  const now = 1_800_000_000_000;
  const clock = new ManualClock(now);
  const outage = new ControlOutage(clock, 120_000, 5_000);
  const verifier = outageTolerant(await createTokenVerifier(rawPublicKey(privateKey)), outage);
  const { token } = await signAccessToken(privateKey, claims, now, 60);
  const { token: stale } = await signAccessToken(privateKey, { ...claims, sid: 'old' }, now - 61_000, 60);
  const { token: foreign } = await signAccessToken(other, claims, now, 60);
  outage.contact();
  const later = now + 90_000;
  await assert.rejects(verifier.verify(token, { nowMs: later }), (e) => code(e) === 'token_expired', 'no outage: strict');
  outage.unreachable();
  assert.equal((await verifier.verify(token, { program: 'ch1', nowMs: later })).sid, 's1');
  await assert.rejects(verifier.verify(token, { program: 'ch2', nowMs: later }), (e) => code(e) === 'token_wrong_program');
  await assert.rejects(verifier.verify(stale, { nowMs: later }), (e) => code(e) === 'token_expired', 'expired before the outage');
  await assert.rejects(verifier.verify(foreign, { nowMs: later }), (e) => code(e) === 'token_invalid');
  await assert.rejects(verifier.verify(token, { nowMs: now + 120_000 }), (e) => code(e) === 'token_expired', 'past the grace');
});
