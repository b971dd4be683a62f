/**
 * Chaos: `kill -9` of the control server and an immediate restart on the same
 * port and database. Nobody is ended; admissions work again within a couple of
 * seconds of the server answering (the tracker's link is back by then); a new
 * viewer joins, and a kick ends it (exit 4); the lists agree.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { rawPublicKey } from '../../src/core/piece.js';
import { ChaosSystem, PROGRAM, waitFor, type ChaosViewer } from './harness.js';
import { assertAlive, assertKept, kickAndExpectExit4, snapshot, waitGrowing, waitListsAgree } from './checks.js';

/** How soon after the restarted server answers an admission must go through (the tracker reconnects within 1 s). */
const ADMISSION_BACK_MS = 4_000;

let sys: ChaosSystem;

before(async () => {
  sys = await ChaosSystem.start('control-restart', ['ann', 'ben']);
});

after(async () => {
  await sys?.stop();
});

test('control kill -9 and restart: nobody is ended, admissions work again within seconds, a new viewer plays and is kicked with exit 4', async () => {
  const keep = ['ann', 'ben'].map((u) => sys.viewer(u));
  const snap = await snapshot(sys, keep);
  await waitListsAgree(sys, keep, 15_000, snap.sourceSid);

  await sys.control.kill9();
  await sys.startControl();
  const answeredAt = Date.now();
  // A program request straight after the restart: refused (503, no tracker) only until the tracker's link is back.
  const clientKey = rawPublicKey(generateKeyPairSync('ed25519').publicKey);
  let lastError = '';
  const admitted = await waitFor(
    'an admission on the restarted control server',
    async () => {
      try {
        return (await sys.request('/v1/programs/' + PROGRAM + '/request', { user: 'ann', password: 'pw-ann', client_key: clientKey })) as { session: string };
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
        return null;
      }
    },
    15_000,
  ).catch((err: unknown) => assert.fail(`${String(err)}: ${lastError}`));
  const admissionMs = Date.now() - answeredAt;
  assert.ok(admissionMs <= ADMISSION_BACK_MS, `admissions refused for ${admissionMs} ms after the restarted server answered (${lastError})`);
  // That session never joins: the operator ends it at once.
  await sys.kick(admitted.session, 'test admission');

  const dan = await sys.addViewer('dan');
  await waitGrowing(keep, 10_000);
  await assertKept(snap, 'a control restart');
  assertAlive([sys.broadcaster, sys.tracker], 'a control restart');
  await waitListsAgree(sys, [...keep, dan], 15_000, snap.sourceSid);

  await kickAndExpectExit4(sys, dan, 'kicked after the control restart', { cli: true });
  await waitListsAgree(sys, keep, 10_000, snap.sourceSid);
  await waitGrowing(keep as ChaosViewer[], 10_000);
});
