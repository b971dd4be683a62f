/**
 * A kick reaches peers that were not there when it happened (issue 8, item
 * 4), played as the attacker: a session is kicked through the chain A–E
 * (admin kick on the control server), but its client ignores the kick and
 * keeps its still-valid token and key. A viewer that joins AFTER the kick
 * learns the revocation from its tracker's `peers` answer, so when the kicked
 * client dials it, it refuses the session and sends it no piece.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLocalSystem, type LocalSystem } from '../../src/cli/local-system.js';
import { controlRequest } from '../../src/protocol/control-api.js';
import { waitFor } from './helpers.js';

let sys: LocalSystem;
let infoHash: string;

before(async () => {
  // A long heartbeat timeout: the kicked session's listing, not its timeout, is what is tested.
  sys = await startLocalSystem({ adminPassword: 'revocation-admin', heartbeatTimeoutMs: 60_000 });
  const b = await sys.broadcast('ch1', { kind: 'test-pattern', bitrateBps: 2_000_000 });
  infoHash = b.metadata.info_hash;
});

after(async () => {
  await sys.stop();
});

test('a kicked client that ignores the kick is refused by a viewer that joined after it, and gets no piece from it', async () => {
  const mallory = (await sys.viewer('mallory', 'ch1', { http: false })).viewer;
  await waitFor('mallory playing', () => mallory.stats().played > 4);
  // The modified client: deaf to the disconnect and to revocations, it keeps its token and key.
  mallory.tracker.removeAllListeners('disconnect');
  mallory.tracker.removeAllListeners('revoked');
  mallory.session.removeAllListeners('ended');
  await controlRequest(sys.controlUrl, '/v1/admin/kick', {
    method: 'POST',
    body: { session: mallory.sid, reason: 'attacker' },
    basic: { user: 'admin', password: sys.adminPassword },
  });
  await waitFor('the tracker revoked mallory', () => sys.tracker.isRevoked(mallory.sid));
  await waitFor('mallory cut off by the peers it had', () => mallory.swarm.peerCount === 0, 10_000);

  // Nina joins after the kick: nobody pushed her anything about mallory.
  const lines: string[] = [];
  const nina = (await sys.viewer('nina', 'ch1', { http: false, log: (l) => lines.push(l) })).viewer;
  const ninaPeers: string[] = [];
  nina.swarm.on('peer', ({ sid }) => ninaPeers.push(sid));
  await waitFor('nina playing', () => nina.stats().played > 4);
  const at = (await sys.tracker.peers(infoHash)).find((p) => p.sid === nina.sid);
  assert.ok(at, 'nina is listed');

  // Mallory dials nina with its valid token and key.
  const bytesBefore = mallory.swarm.downMeter.total;
  const uploadedBefore = nina.swarm.uploaded;
  mallory.swarm.connect([{ sid: nina.sid, peer_id: at.peerId, ip: at.ip, port: at.port, role: 'viewer' }]);
  await waitFor('nina refused mallory', () => lines.some((l) => l.includes(mallory.sid) || /revoked/.test(l)), 10_000);
  const played = nina.stats().played;
  await waitFor('nina plays on', () => nina.stats().played >= played + 8, 15_000);
  assert.ok(!ninaPeers.includes(mallory.sid), 'nina never accepted mallory');
  assert.ok(!nina.swarm.peerList().some((p) => p.sid === mallory.sid));
  assert.equal(mallory.swarm.downMeter.total, bytesBefore, 'no piece byte reached mallory');
  assert.equal(mallory.swarm.peerCount, 0);
  // Whatever nina uploaded went to others, never to mallory (mallory received nothing at all).
  assert.ok(nina.swarm.uploaded >= uploadedBefore);
  await mallory.stop().catch(() => undefined);
});
