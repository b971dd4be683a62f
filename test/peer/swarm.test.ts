/** The swarm engine with fake peers over the in-memory transport, in virtual time. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SwarmLab, received } from './swarm-lab.js';

test('a viewer dialing the source gets every piece from it, in virtual time', async () => {
  const lab = new SwarmLab();
  const src = await lab.peer('src', 'source');
  const v = await lab.peer('v1', 'viewer');
  const got = received(v.swarm);
  v.swarm.connect([src.transport.listed]);
  lab.run(10);
  assert.deepEqual(v.swarm.peerList(), [{ sid: 'src', isSource: true }]);
  assert.deepEqual(src.swarm.peerList(), [{ sid: 'v1', isSource: false }]);
  v.swarm.setPlayhead(0);
  lab.broadcast(src.swarm, 2_000);
  lab.run(1_500);
  assert.equal(got.size, 20);
  assert.ok([...got.values()].every((h) => h.fromSource));
  assert.equal(v.swarm.bytesFromSource, 20 * 40_000);
});

test('a second viewer gets most pieces from the first, not the source', async () => {
  const lab = new SwarmLab();
  const src = await lab.peer('src', 'source');
  const a = await lab.peer('a', 'viewer');
  const b = await lab.peer('b', 'viewer');
  const gotB = received(b.swarm);
  a.swarm.connect([src.transport.listed]);
  b.swarm.connect([src.transport.listed, a.transport.listed]);
  lab.run(10);
  a.swarm.setPlayhead(0);
  b.swarm.setPlayhead(0);
  lab.broadcast(src.swarm, 10_000);
  lab.run(2_000);
  assert.equal(gotB.size, 100);
  const fromPeers = [...gotB.values()].filter((h) => !h.fromSource).length;
  assert.ok(fromPeers >= 50, `b got ${fromPeers} of 100 pieces from a`);
  assert.ok(a.swarm.uploaded > 0);
});
