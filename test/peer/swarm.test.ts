/** The swarm engine with fake peers over the in-memory transport, in virtual time. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../../src/core/config.js';
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

test("the source's first tier rotates: each new piece is told to one viewer at once, the others a second later", async () => {
  const lab = new SwarmLab();
  const src = await lab.peer('src', 'source', { sourceTier: 1 });
  const fakes = await Promise.all(['x', 'y', 'z'].map((sid) => lab.fake(sid, 'viewer')));
  src.swarm.connect(fakes.map((f) => f.transport.listed));
  lab.run(10);
  const first: string[] = [];
  for (let seq = 0; seq < 3; seq++) {
    for (const f of fakes) f.log.length = 0;
    src.swarm.addLocalPiece(lab.makePiece(seq));
    lab.run(1);
    const told = fakes.filter((f) => f.log.some((l) => l.endsWith(`have ${seq}`)));
    assert.equal(told.length, 1, `piece ${seq}: one viewer at once`);
    first.push((told[0] as { sid: string }).sid);
    lab.run(DEFAULTS.peer.sourceHaveDelayMs - 2);
    assert.equal(fakes.filter((f) => f.log.some((l) => l.endsWith(`have ${seq}`))).length, 1, 'the rest wait');
    lab.run(1);
    assert.equal(fakes.filter((f) => f.log.some((l) => l.endsWith(`have ${seq}`))).length, 3, 'then everyone knows');
  }
  assert.deepEqual([...first].sort(), ['x', 'y', 'z'], `each viewer first in turn (${first.join(', ')})`);
});

test('a request unanswered for requestTimeoutMs is cancelled and asked of another holder', async () => {
  const lab = new SwarmLab();
  const v = await lab.peer('v', 'viewer');
  // x advertises piece 50 and unchokes, but never answers a request.
  const x = await lab.fake('x', 'viewer', (link) => {
    link.sendWindow(50, Buffer.from([0x80]));
    link.unchoke();
  });
  const y = await lab.peer('y', 'viewer');
  y.swarm.addLocalPiece(lab.makePiece(50));
  const got = received(v.swarm);
  v.swarm.connect([x.transport.listed]);
  lab.run(10);
  v.swarm.connect([y.transport.listed]);
  lab.run(10);
  // Piece 50 is 5 s ahead of the playhead: no endgame, only the timeout can move it.
  v.swarm.setPlayhead(0);
  // The next tick of the swarm's timer makes the pass.
  lab.run(DEFAULTS.peer.tickMs);
  const asked = x.log.filter((l) => l.includes('request 50/'));
  assert.equal(asked.length, 3, 'all three blocks asked of x, the first holder');
  lab.run(DEFAULTS.peer.requestTimeoutMs - 100);
  assert.equal(got.size, 0);
  assert.equal(x.log.filter((l) => l.includes('cancel 50/')).length, 0);
  lab.run(200);
  assert.equal(x.log.filter((l) => l.includes('cancel 50/')).length, 3, 'x is told to drop it');
  assert.deepEqual([...got.keys()], [50], 'y served it');
  assert.equal(v.swarm.bytesFromPeers, 40_000);
});
