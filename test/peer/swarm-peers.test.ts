/** The swarm engine's connection handling with fake peers, in virtual time: duplicates, bans, revocation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../../src/core/config.js';
import { SwarmLab, received } from './swarm-lab.js';

test('two viewers that dial each other at once keep one connection, the same one at both ends', async () => {
  const lab = new SwarmLab();
  const a = await lab.peer('a', 'viewer');
  const b = await lab.peer('b', 'viewer');
  const left: string[] = [];
  a.swarm.on('peer-left', ({ reason }) => left.push(`a: ${reason}`));
  b.swarm.on('peer-left', ({ reason }) => left.push(`b: ${reason}`));
  a.swarm.connect([b.transport.listed]);
  b.swarm.connect([a.transport.listed]);
  lab.run(100);
  assert.deepEqual(a.swarm.peerList(), [{ sid: 'b', isSource: false }]);
  assert.deepEqual(b.swarm.peerList(), [{ sid: 'a', isSource: false }]);
  assert.deepEqual(left, ['a: duplicate connection'], 'a dropped the one b opened (b never adopted the one it opened itself)');
  // The survivor is live at both ends: a's step C reaches b.
  const heard: string[] = [];
  b.swarm.on('leaving', ({ sid, reason }) => heard.push(`${sid} ${reason}`));
  a.swarm.leaveAll('bye');
  lab.run(10);
  assert.deepEqual(heard, ['a bye']);
});

test('a peer that sends a bad piece is dropped and banned: it cannot connect again, and the piece comes from elsewhere', async () => {
  const lab = new SwarmLab();
  const src = await lab.peer('src', 'source');
  const mallory = await lab.peer('mallory', 'viewer');
  const v = await lab.peer('v', 'viewer');
  const got = received(v.swarm);
  const banned: string[] = [];
  v.swarm.on('banned', ({ sid }) => banned.push(sid));
  v.swarm.connect([mallory.transport.listed]);
  lab.run(10);
  v.swarm.setPlayhead(0);
  // Mallory claims piece 0 before the source has made it; v can only ask her.
  mallory.swarm.addLocalPiece(lab.forged(0));
  lab.run(10);
  assert.deepEqual(banned, ['mallory']);
  assert.deepEqual(v.swarm.peerList(), []);
  assert.equal(got.size, 0);
  mallory.swarm.connect([v.transport.listed]);
  v.swarm.connect([mallory.transport.listed, src.transport.listed]);
  lab.run(10);
  assert.deepEqual(v.swarm.peerList(), [{ sid: 'src', isSource: true }], 'refused both ways in; the source is taken');
  lab.broadcast(src.swarm, 300);
  lab.run(500);
  assert.deepEqual([...got.keys()], [0, 1, 2]);
});

test('a revoked peer gets nothing more, is dropped after the grace, and is refused from then on', async () => {
  const lab = new SwarmLab();
  const v = await lab.peer('v', 'viewer');
  const eve = await lab.fake('eve', 'viewer', (link) => link.interested());
  v.swarm.connect([eve.transport.listed]);
  lab.run(10);
  assert.deepEqual(v.swarm.peerList(), [{ sid: 'eve', isSource: false }]);
  v.swarm.revoke('eve');
  v.swarm.addLocalPiece(lab.makePiece(0));
  lab.run(DEFAULTS.revokeGraceMs - 1);
  assert.equal(eve.links[0]?.closed, false, 'open for the grace, so its leaving can be heard');
  lab.run(1);
  assert.equal(eve.links[0]?.closed, true);
  assert.deepEqual(v.swarm.peerList(), []);
  assert.ok(!eve.log.some((l) => l.includes('have 0')), `no have after the revocation: ${eve.log.join(', ')}`);
  v.swarm.connect([eve.transport.listed]);
  let settled = 0;
  eve.transport.dial(v.transport.listed, () => settled++);
  lab.run(10);
  assert.equal(settled, 1);
  assert.deepEqual(v.swarm.peerList(), [], 'neither dialed again nor let in');
  assert.equal(eve.links.length, 1);
});
