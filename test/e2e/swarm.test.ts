/**
 * The swarm carries the stream: ten viewers all play, and the source uploads
 * less than half of what they receive (a sanity bound; bench/ has the targets).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLocalSystem, type LocalSystem } from '../../src/cli/local-system.js';
import type { Viewer } from '../../src/peer/viewer.js';
import { waitFor } from './helpers.js';

let sys: LocalSystem | null = null;
after(async () => {
  await sys?.stop();
});

test('10 viewers on one channel all play, and the source uploads less than half of all bytes delivered', async () => {
  sys = await startLocalSystem({ adminPassword: 'swarm-admin' });
  // Caps at twice the stream rate (2 Mbit/s = 250 kB/s), for the source and every viewer.
  const cap = 500_000;
  const b = await sys.broadcast('ch1', { kind: 'test-pattern', bitrateBps: 2_000_000 }, { uploadRate: cap });
  const viewers: Viewer[] = [];
  for (let i = 0; i < 10; i++) viewers.push((await sys.viewer(`v${i}`, 'ch1', { http: false, uploadRate: cap })).viewer);
  // Ten seconds of stream for the last one to join.
  const last = viewers[viewers.length - 1];
  assert.ok(last);
  await waitFor('76 pieces played by the last viewer', () => last.stats().played >= 76, 40_000);
  let fromSource = 0;
  let fromPeers = 0;
  for (const v of viewers) {
    const s = v.stats();
    assert.ok(s.played >= 60, `${s.session} played ${s.played} pieces`);
    // Every viewer plays on time (a viewer left without peers or pieces falls far below this); the precise figure is the bench's
    // (bench/RESULTS.md: 0.998 at 100 viewers): ten viewers plus a source on a loaded 2-core CI machine measured 0.98 at worst.
    assert.ok(s.continuity >= 0.95, `${s.session} continuity ${s.continuity}`);
    fromSource += s.bytesFromSource;
    fromPeers += s.bytesFromPeers;
  }
  const delivered = fromSource + fromPeers;
  assert.ok(b.swarm.uploaded < delivered / 2, `source uploaded ${b.swarm.uploaded} of ${delivered} bytes delivered`);
  assert.ok(fromPeers > fromSource, `peers carried ${fromPeers} bytes, the source ${fromSource}`);
});
