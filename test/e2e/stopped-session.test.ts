/**
 * Found in the security review of issue 8: a session that tells its tracker
 * `stopped` is ended at the control server (so the concurrent-session limit no
 * longer counts it); if it were revoked nowhere, a modified client that keeps
 * its peer connections would go on receiving pieces until its token expires,
 * and re-admitting before that would let any number of devices of a
 * `--max-sessions 1` user watch at once. The tracker treats a channel's stop
 * like a kick for the program's peers (pushed and listed).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLocalSystem, type LocalSystem } from '../../src/cli/local-system.js';
import { waitFor } from './helpers.js';

let sys: LocalSystem;
let infoHash: string;

before(async () => {
  sys = await startLocalSystem({ adminPassword: 'stopped-session-admin' });
  const b = await sys.broadcast('ch1', { kind: 'test-pattern', bitrateBps: 1_000_000 });
  infoHash = b.metadata.info_hash;
  const helper = (await sys.viewer('helper', 'ch1', { http: false })).viewer;
  await waitFor('helper playing', () => helper.stats().played > 2);
});

after(async () => {
  await sys.stop();
});

test(
  'a session that told its tracker it stopped gets no more pieces from its peers',
  async () => {
    const mallory = (await sys.viewer('mallory', 'ch1', { http: false })).viewer;
    await waitFor('mallory playing', () => mallory.stats().played > 4);
    // The modified client: it says `stopped` (its session ends, the limit stops counting it) but keeps its peers.
    mallory.tracker.removeAllListeners('lost');
    mallory.session.removeAllListeners('ended');
    await mallory.tracker.stopped();
    await waitFor('the tracker dropped mallory', async () => !(await sys.tracker.peers(infoHash)).some((p) => p.sid === mallory.sid));
    await new Promise((r) => setTimeout(r, 2_000));
    const before = mallory.swarm.downMeter.total;
    await new Promise((r) => setTimeout(r, 5_000));
    assert.equal(mallory.swarm.downMeter.total, before, 'no piece byte reaches a stopped session');
    await mallory.stop().catch(() => undefined);
  },
);
