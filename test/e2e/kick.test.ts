/**
 * Ending one viewer's session (steps A–E) with real components: the kicked
 * viewer is told why and stops, its peers hear `leaving`, both lists drop it,
 * and the others play on. A client that ignores the message is cut off by
 * its peers at once, dropped at the heartbeat timeout, and refused renewal.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { startLocalSystem, type LocalSystem } from '../../src/cli/local-system.js';
import { controlRequest } from '../../src/protocol/control-api.js';
import type { Viewer, ViewerEnd } from '../../src/peer/viewer.js';
import { ClientError } from '../../src/core/errors.js';
import { runCli, waitFor, within } from './helpers.js';

let sys: LocalSystem;
let infoHash: string;

before(async () => {
  sys = await startLocalSystem({ adminPassword: 'kick-admin', heartbeatTimeoutMs: 2_000 });
  const b = await sys.broadcast('ch1', { kind: 'test-pattern', bitrateBps: 2_000_000 });
  infoHash = b.metadata.info_hash;
});

after(async () => {
  await sys.stop();
});

function kick(body: { session?: string; user?: string; reason?: string }): Promise<unknown> {
  return controlRequest(sys.controlUrl, '/v1/admin/kick', { method: 'POST', body, basic: { user: 'admin', password: sys.adminPassword } });
}

async function liveSessions(): Promise<string[]> {
  return (await sys.admin.listSessions()).filter((s) => s.state !== 'ended').map((s) => s.id);
}

async function trackerSessions(): Promise<string[]> {
  return (await sys.tracker.peers(infoHash)).map((p) => p.sid);
}

function playsOn(v: Viewer, pieces: number): Promise<unknown> {
  const from = v.stats().played;
  return waitFor(`${v.sid} to play ${pieces} more pieces`, () => v.stats().played >= from + pieces, 15_000);
}

test('kicking one of three viewers: it stops with the reason, peers got leaving, both lists drop it, the others play on', async () => {
  const alice = (await sys.viewer('alice', 'ch1', { http: false })).viewer;
  const bob = (await sys.viewer('bob', 'ch1', { http: false })).viewer;
  const carol = (await sys.viewer('carol', 'ch1', { http: false })).viewer;
  await waitFor('carol connected to alice and bob', () =>
    [alice, bob].every((v) => v.swarm.peerList().some((p) => p.sid === carol.sid)),
  );
  await waitFor('everyone playing', () => [alice, bob, carol].every((v) => v.stats().played > 8));
  const leavingSeen = [alice, bob].map(
    (v) =>
      new Promise<string>((resolve) =>
        v.swarm.on('leaving', ({ sid, reason }) => {
          if (sid === carol.sid) resolve(reason);
        }),
      ),
  );
  const missedBefore = alice.stats().missed + bob.stats().missed;
  const ended = once(carol, 'ended') as Promise<[ViewerEnd]>;
  await kick({ session: carol.sid, reason: 'e2e kick' });
  const [end] = await within('carol to end', ended);
  assert.deepEqual(end, { kind: 'kicked', reason: 'e2e kick' });
  assert.deepEqual(await within('leaving at alice and bob', Promise.all(leavingSeen)), ['e2e kick', 'e2e kick']);
  await waitFor('carol gone from the tracker', async () => !(await trackerSessions()).includes(carol.sid), 5_000);
  await waitFor('carol gone from the control server', async () => !(await liveSessions()).includes(carol.sid), 5_000);
  await Promise.all([playsOn(alice, 15), playsOn(bob, 15)]);
  assert.equal(alice.stats().missed + bob.stats().missed, missedBefore, 'no gap for the others');
});

test('the watch command exits with code 4 and prints the operator reason when kicked', async () => {
  await sys.admin.addUser('dave', 'pw-dave');
  await sys.admin.grant('dave', 'ch1', null);
  const run = runCli(['watch', '--control', sys.controlUrl, '--user', 'dave', '--password', 'pw-dave', '--no-http', 'ch1'], { timeoutMs: 40_000 });
  const session = await waitFor('dave joined', async () => (await sys.admin.listSessions()).find((s) => s.user === 'dave' && s.state === 'joined'));
  const t0 = Date.now();
  await kick({ user: 'dave', reason: 'payment failed' });
  const res = await run;
  assert.equal(res.code, 4, res.stderr);
  assert.match(res.stderr, /ended by the operator: payment failed/);
  assert.ok(Date.now() - t0 < 3_000, `exited ${Date.now() - t0} ms after the kick`);
  await waitFor('dave gone from the control server', async () => !(await liveSessions()).includes(session.id), 5_000);
});

test('a client that ignores the disconnect: peers stop sending at once, the tracker drops it at the heartbeat timeout, renewal is refused', async () => {
  const erin = (await sys.viewer('erin', 'ch1', { http: false })).viewer;
  const mallory = (await sys.viewer('mallory', 'ch1', { http: false })).viewer;
  await waitFor('mallory playing', () => mallory.stats().played > 8);
  // A modified client: it hears nothing of the disconnect and goes on as if nothing happened.
  mallory.tracker.removeAllListeners('disconnect');
  await kick({ session: mallory.sid, reason: 'ignored kick' });
  await waitFor('every peer dropped mallory', () => !erin.swarm.peerList().some((p) => p.sid === mallory.sid), 3_000);
  await waitFor('mallory has no peer left', () => mallory.swarm.peerCount === 0, 3_000);
  const bytesAtCut = mallory.swarm.downMeter.total;
  const erinPlayed = erin.stats().played;
  await waitFor('erin plays on', () => erin.stats().played >= erinPlayed + 15, 15_000);
  assert.equal(mallory.swarm.downMeter.total, bytesAtCut, 'no piece byte reached mallory after the revocation');
  await waitFor('tracker dropped mallory', async () => !(await trackerSessions()).includes(mallory.sid), 6_000);
  await waitFor('control dropped mallory', async () => !(await liveSessions()).includes(mallory.sid), 6_000);
  const renewal = once(mallory.session, 'ended') as Promise<[ClientError]>;
  await mallory.session.renewNow();
  const [err] = await within('renewal refused', renewal);
  assert.equal(err.code, 'session_ended');
  await mallory.stop();
});

test('revoking a subscription ends the running session through the same chain', async () => {
  const frank = (await sys.viewer('frank', 'ch1', { http: false })).viewer;
  await waitFor('frank playing', () => frank.stats().played > 4);
  const ended = once(frank, 'ended') as Promise<[ViewerEnd]>;
  await sys.admin.revoke('frank', 'ch1');
  const [end] = await within('frank to end', ended);
  assert.equal(end.kind, 'kicked');
  assert.match(end.reason, /subscription/);
  await waitFor('frank gone from the control server', async () => !(await liveSessions()).includes(frank.sid), 5_000);
});
