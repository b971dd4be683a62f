/**
 * KNOWN HOLE (security review of issue 8, left open; `todo` so the suite
 * stays green until it is fixed): a session that tells its tracker `stopped`
 * is ended at the control server (so the concurrent-session limit no longer
 * counts it) but is revoked nowhere, so a modified client that keeps its
 * peer connections (or dials peers afresh) goes on receiving pieces until its
 * token expires (up to the token lifetime, 5 min). Re-admitting before that
 * (a device credential costs nothing) lets any number of devices of a
 * `--max-sessions 1` user watch at once. The fix belongs with the tracker's
 * leave (treat a stop like a kick for the program's peers: push and list it)
 * or with the session limit (count sessions ended within a token lifetime).
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
  { todo: 'a stop is not a revocation: peers keep serving the session until its token expires (see the file comment)' },
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
