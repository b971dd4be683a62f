/**
 * A peer that serves a piece with a bad signature is dropped and banned, and
 * playback goes on from the other peers.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { startLocalSystem, type LocalSystem } from '../../src/cli/local-system.js';
import type { LivePiece } from '../../src/core/piece.js';
import { waitFor } from './helpers.js';

let sys: LocalSystem | null = null;
after(async () => {
  await sys?.stop();
});

test('a piece with a bad signature is rejected, its sender dropped and banned, and playback goes on', async () => {
  sys = await startLocalSystem({ adminPassword: 'bad-piece-admin' });
  await sys.broadcast('ch1', { kind: 'test-pattern', bitrateBps: 2_000_000 });
  await sys.viewer('alice', 'ch1', { http: false });
  const mallory = (await sys.viewer('mallory', 'ch1', { http: false })).viewer;
  // Mallory is a real, admitted viewer whose uploads are tampered with: one byte
  // flipped in every piece it serves, after the source signed it.
  const window = mallory.swarm.window;
  const honestGet = window.get.bind(window);
  window.get = (seq: number): LivePiece | undefined => {
    const p = honestGet(seq);
    if (!p) return p;
    const bytes = Buffer.from(p.bytes);
    const last = bytes.length - 1;
    bytes[last] = (bytes[last] ?? 0) ^ 0xff;
    return { ...p, bytes };
  };
  // Victim: talks to mallory and the source only, so it must ask mallory for pieces.
  const victim = (await sys.viewer('victim', 'ch1', { http: false, maxPeers: 3 })).viewer;
  const [ban] = (await once(victim.swarm, 'banned')) as [{ sid: string; reason: string }];
  assert.equal(ban.sid, mallory.sid);
  assert.match(ban.reason, /bad signature/);
  await waitFor('mallory dropped', () => !victim.swarm.peerList().some((p) => p.sid === mallory.sid), 5_000);
  const playedAtBan = victim.stats().played;
  // Two more seconds of stream arrive from the honest peers.
  await waitFor('playback going on', () => victim.stats().played >= playedAtBan + 15, 15_000);
  assert.ok(!victim.swarm.peerList().some((p) => p.sid === mallory.sid), 'mallory stays banned');
  // Mallory's bytes never reached the player: everything played verified.
  assert.equal(victim.stats().missed, 0);
});
