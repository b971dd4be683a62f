/**
 * Idle sockets against a viewer's peer port cannot starve it: sockets that
 * are not authenticated yet have their own budget (per address and in total),
 * apart from the peer slots, so the viewer keeps accepting and dialing real
 * peers and a new viewer still gets most of its stream from peers.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startLocalSystem, type LocalSystem } from '../../src/cli/local-system.js';
import { DEFAULTS } from '../../src/core/config.js';
import { waitFor } from './helpers.js';

let sys: LocalSystem | null = null;
after(async () => {
  await sys?.stop();
});

test('30 idle TCP sockets against a viewer: it still takes a new viewer, which gets at least half its bytes from peers', { timeout: 60_000 }, async () => {
  sys = await startLocalSystem({ adminPassword: 'peer-budget-admin' });
  await sys.broadcast('ch1', { kind: 'test-pattern', bitrateBps: 2_000_000 });
  // A viewer with a dozen peer slots: 30 idle sockets would fill them twice over if they counted.
  const target = (await sys.viewer('target', 'ch1', { http: false, maxPeers: 12 })).viewer;
  await sys.viewer('other', 'ch1', { http: false });
  await waitFor('target playing', () => target.stats().played > 3, 20_000);
  const port = target.swarm.links.port;
  assert.ok(port !== null);

  // The attacker: 30 TCP connections from three addresses, then silence.
  const attackers = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
  const open = new Set<net.Socket>();
  const closedAt: number[] = [];
  const sockets: net.Socket[] = [];
  for (let i = 0; i < 30; i++) {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: attackers[i % attackers.length] });
    s.on('error', () => undefined);
    s.on('connect', () => open.add(s));
    s.on('close', () => {
      open.delete(s);
      closedAt.push(Date.now());
    });
    sockets.push(s);
  }
  const perAddress = DEFAULTS.peerPendingPerAddress;
  // Past its budget per address the viewer drops them at once: 10 sent from each of 3 addresses.
  const dropped = 30 - attackers.length * Math.min(10, perAddress);
  await waitFor(`${dropped} sockets dropped at once`, () => closedAt.length >= dropped, 5_000);
  assert.equal(target.swarm.links.pendingInbound, attackers.length * Math.min(10, perAddress));

  try {
    const late = (await sys.viewer('late', 'ch1', { http: false })).viewer;
    await waitFor('the target and the new viewer connected', () => target.swarm.peerList().some((p) => p.sid === late.sid), 10_000);
    assert.ok(open.size >= attackers.length * Math.min(10, perAddress) - 1, `the idle sockets were still held (${open.size} open)`);
    await waitFor('the new viewer plays 40 pieces', () => late.stats().played >= 40, 30_000);
    const s = late.stats();
    const share = s.bytesFromPeers / (s.bytesFromPeers + s.bytesFromSource);
    assert.ok(share >= 0.5, `the new viewer got ${(share * 100).toFixed(0)}% of its bytes from peers`);
  } finally {
    for (const s of sockets) s.destroy();
  }
  // The idle sockets end at the channel's handshake deadline; the budget is free again.
  await waitFor('pending budget freed', () => target.swarm.links.pendingInbound === 0, DEFAULTS.peerChannelTimeoutMs + 5_000);
});
