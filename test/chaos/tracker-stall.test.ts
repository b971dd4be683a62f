/**
 * Chaos: the tracker stopped (SIGSTOP) for 10 s, then continued. Nobody is
 * ended: every viewer keeps its process and session and plays on, the lists
 * agree afterwards; a kick sent during the stall and one after still end
 * their viewers through A–E (exit code 4).
 */
import { test, before, after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChaosSystem, type ChaosViewer } from './harness.js';
import { assertAlive, assertKept, awaitExit4, kickAndExpectExit4, snapshot, waitGrowing, waitListsAgree } from './checks.js';

let sys: ChaosSystem;

before(async () => {
  sys = await ChaosSystem.start('stall', ['ann', 'ben', 'kim']);
});

after(async () => {
  await sys?.stop();
});

test('tracker SIGSTOP 10 s then SIGCONT: nobody is ended, outputs grow, lists agree, kicks during and after still end', async () => {
  const keep = ['ann', 'ben'].map((u) => sys.viewer(u));
  const doomed = sys.viewer('kim');
  const snap = await snapshot(sys, keep);
  await waitListsAgree(sys, sys.viewers, 15_000, snap.sourceSid);

  sys.tracker.signal('SIGSTOP');
  // The control server takes the kick at once; its disconnect waits in the stopped tracker's socket.
  await sys.kick(doomed.sid()!, 'kicked during the stall');
  await sleep(10_000);
  sys.tracker.signal('SIGCONT');

  await awaitExit4(sys, doomed, 'kicked during the stall', 20_000);
  await waitGrowing(keep, 10_000);
  await assertKept(snap, 'a 10 s tracker stall');
  assertAlive([sys.tracker, sys.broadcaster], 'a 10 s tracker stall');
  await waitListsAgree(sys, keep, 15_000, snap.sourceSid);

  const [ann, ben] = keep as [ChaosViewer, ChaosViewer];
  await kickAndExpectExit4(sys, ben, 'kicked after the stall', { cli: true });
  await waitListsAgree(sys, [ann], 10_000, snap.sourceSid);
  await waitGrowing([ann], 10_000);
});
