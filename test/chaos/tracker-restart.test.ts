/**
 * Chaos: `kill -9` of the tracker and a restart on the same port 5 s later,
 * with a broadcaster and three viewers. Everyone keeps its process and its
 * session, each output grows again within 10 s of the restart, and the
 * control server's and the new tracker's lists agree within 15 s. A kick
 * sent while the tracker is down ends its viewer through A–E once the tracker
 * is back (exit 4, the operator's reason), and so does one after.
 */
import { test, before, after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChaosSystem, type ChaosViewer } from './harness.js';
import { assertAlive, assertKept, awaitExit4, kickAndExpectExit4, snapshot, waitGrowing, waitListsAgree } from './checks.js';

let sys: ChaosSystem;

before(async () => {
  sys = await ChaosSystem.start('tracker-restart', ['ann', 'ben', 'cat', 'kim']);
});

after(async () => {
  await sys?.stop();
});

test('tracker kill -9 + restart after 5 s: processes and sessions kept, outputs grow within 10 s, lists agree within 15 s, kicks during and after still end', async () => {
  const [ann, ben, cat] = ['ann', 'ben', 'cat'].map((u) => sys.viewer(u)) as [ChaosViewer, ChaosViewer, ChaosViewer];
  const keep = [ann, ben, cat];
  const kim = sys.viewer('kim');
  const snap = await snapshot(sys, keep);
  await waitListsAgree(sys, [...keep, kim], 15_000, snap.sourceSid);

  const killedAt = Date.now();
  await sys.tracker.kill9();
  // The operator kicks while no tracker holds the session: the kick must reach the viewer once one does.
  await sys.kick(kim.sid()!, 'kicked while the tracker was down');
  await sleep(Math.max(0, killedAt + 5_000 - Date.now()));
  const restartedAt = Date.now();
  await sys.startTracker();

  await waitGrowing(keep, Math.max(1_000, restartedAt + 10_000 - Date.now()));
  await assertKept(snap, 'a tracker restart');
  assertAlive([sys.broadcaster], 'a tracker restart');
  await awaitExit4(sys, kim, 'kicked while the tracker was down', 20_000);
  await waitListsAgree(sys, keep, Math.max(2_000, restartedAt + 15_000 - Date.now()), snap.sourceSid);

  await kickAndExpectExit4(sys, cat, 'kicked after the tracker restart');
  await waitListsAgree(sys, [ann, ben], 10_000, snap.sourceSid);
  await waitGrowing([ann, ben], 10_000);
});
