/** Connection management apart from any transport: dial target, accept limit, refusals, duplicates. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { ConnectionManager } from '../../src/peer/connection-manager.js';
import { MemoryLink } from '../../src/peer/memory-link.js';
import { MemoryNetwork } from '../../src/peer/memory-transport.js';
import type { ChannelPeer } from '../../src/protocol/tracker-channel.js';
import type { PeerLink, Transport } from '../../src/peer/transport.js';

const listed = (sid: string): ChannelPeer => ({ sid, peer_id: '00'.repeat(20), ip: '10.0.0.1', port: 1, role: 'viewer' });

/** A transport that records dials and settles them when told. */
function fakeTransport(): Transport & { dials: Map<string, () => void> } {
  const dials = new Map<string, () => void>();
  return {
    dials,
    port: null,
    pendingInbound: 0,
    listen: () => Promise.resolve(null),
    dial: (peer, settled) => void dials.set(peer.sid, settled),
    close: () => Promise.resolve(),
  };
}

function manager(maxPeers: number, transport: Transport = fakeTransport()): { m: ConnectionManager; up: string[]; down: string[] } {
  const up: string[] = [];
  const down: string[] = [];
  const m = new ConnectionManager({
    sid: 'me',
    maxPeers,
    transport,
    up: (l) => up.push(l.remote.sid),
    down: (l, reason) => down.push(`${l.remote.sid}: ${reason}`),
    log: () => undefined,
  });
  return { m, up, down };
}

test('dials until half of maxPeers are ours, counting dials under way; never itself nor a refused session', () => {
  const t = fakeTransport();
  const { m } = manager(8, t);
  m.revoke('revoked');
  m.ban('banned');
  m.connect(['me', 'revoked', 'banned', 'a', 'b', 'c', 'd', 'e', 'f'].map(listed));
  assert.deepEqual([...t.dials.keys()], ['a', 'b', 'c', 'd'], 'four dials for eight slots');
  m.connect([listed('a'), listed('g')]);
  assert.equal(t.dials.size, 4, 'nothing more while four are under way, and a is not dialed twice');
  t.dials.get('a')?.();
  m.connect([listed('g')]);
  assert.ok(t.dials.has('g'), 'a settled without a link: its place is free again');
});

test('accepts while authenticated peers are below twice maxPeers; refuses revoked and banned sessions', async () => {
  const clock = new ManualClock();
  const net = new MemoryNetwork({ clock });
  const { m, up } = manager(1);
  const mine = net.transport({ sid: 'me', user: 'u', role: 'viewer' });
  await mine.listen(m);
  for (const sid of ['a', 'b', 'c']) {
    const t = net.transport({ sid, user: sid, role: 'viewer' });
    await t.listen({ link: () => undefined, canAccept: () => true, refused: () => false, log: () => undefined });
    t.dial(mine.listed, () => undefined);
  }
  clock.advance(0);
  assert.deepEqual(up, ['a', 'b'], 'two peers for maxPeers 1; the third is turned away');
  assert.equal(m.canAccept(), false);
  assert.equal(m.refused('a'), false);
  m.revoke('x');
  m.ban('y');
  assert.equal(m.refused('x') && m.refused('y'), true);
  assert.equal(m.revoke('x'), false, 'a second revoke of the same session is a no-op');
});

test('of two links to one session the one opened by the smaller sid stays, whichever came first', () => {
  const clock = new ManualClock();
  const net = new MemoryNetwork({ clock });
  /** Our end of a fresh connection to `remote`. */
  const pairLink = (remote: string): PeerLink =>
    MemoryLink.pair(net, { sid: 'me', user: 'u', role: 'viewer' }, { sid: remote, user: remote, role: 'viewer' })[0];
  // 'a' < 'me': a link a opened (inbound to us) beats one we opened (outbound).
  const { m, up, down } = manager(8);
  const ours = pairLink('a');
  const theirs = pairLink('a');
  m.link(ours, true);
  m.link(theirs, false);
  assert.deepEqual(up, ['a', 'a']);
  assert.deepEqual(down, ['a: duplicate connection']);
  assert.equal(ours.closed, true);
  assert.equal(m.get('a'), theirs);
  // 'z' > 'me': the one we opened stays; a later inbound one is closed at once.
  const ours2 = pairLink('z');
  const theirs2 = pairLink('z');
  m.link(ours2, true);
  m.link(theirs2, false);
  assert.equal(theirs2.closed, true);
  assert.equal(m.get('z'), ours2);
  assert.equal(m.count, 2);
});
