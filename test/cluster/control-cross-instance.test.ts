/**
 * Two control servers on one PostgreSQL schema, a real tracker linked to each:
 * a kick taken by the control server that does not hold the session's tracker
 * link reaches that tracker through the database (the disconnect recorded,
 * NOTIFY, the other instance claims its lease and drives it), and the chain
 * completes; 100 kicks round-robin to both with 30% of the messages lost on
 * every hop (control link and tracker channel, both ways, clients too) all
 * complete with nothing left pending anywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomFaults, type MessageFaults } from '../../src/core/faults.js';
import type { AdminClient } from '../../src/cli/control-client.js';
import { chainClient, type ChainClient } from '../e2e/chain-clients.js';
import { waitFor } from '../e2e/helpers.js';
import { seedProgram, startClusterRig } from './control-cluster-rig.js';

async function liveSids(admin: AdminClient): Promise<string[]> {
  return (await admin.listSessions()).filter((s) => s.state !== 'ended').map((s) => s.id).sort();
}

async function inBatches<T, R>(items: T[], size: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map((x, k) => fn(x, i + k)))));
  return out;
}

test('a kick sent to the control server without the tracker link completes through the other one', async () => {
  const rig = await startClusterRig();
  const clients: ChainClient[] = [];
  try {
    const a = await rig.startControl('ctl-a');
    const b = await rig.startControl('ctl-b');
    const t1 = await rig.startTracker([a.url, b.url]);
    const t2 = await rig.startTracker([b.url, a.url]);
    await seedProgram(a.admin, ['ivan']);
    const ivan = await chainClient(a.url, { user: 'ivan', password: 'pw-ivan', program: 'ch1' }, { port: 31_001 });
    clients.push(ivan);
    await waitFor('ivan joined', async () => (await rig.store.getSession(ivan.sid))?.state === 'joined');
    const trackerId = (await rig.store.getSession(ivan.sid))?.trackerId ?? '';
    // The kick goes to the control server that does NOT hold the link of ivan's tracker.
    const [holder, other, otherId] = a.server?.registry.locate(trackerId) === 'here' ? [a, b, 'ctl-a'] : [b, a, 'ctl-b'];
    assert.equal(holder.server?.registry.locate(trackerId), 'here');
    await waitFor('the other control server knows where the tracker is', () => other.server?.registry.locate(trackerId) === otherId);
    const tracker = [t1, t2].find((t) => t.sessions().includes(ivan.sid));
    assert.ok(tracker, 'one of the trackers holds ivan');

    const started = Date.now();
    const [d] = await other.admin.kick({ session: ivan.sid }, 'cross-instance kick');
    assert.ok(d);
    await waitFor('the disconnect completed', async () => (await b.admin.getDisconnect(d.id)).state === 'completed', 20_000);
    const ms = Date.now() - started;
    const done = await b.admin.getDisconnect(d.id);
    assert.equal(done.outcome, 'stopped', 'the client itself stopped: the tracker passed the command on');
    assert.deepEqual(ivan.answered, [d.id]);
    assert.ok(done.timeline.some((e) => e.event === 'command_sent' && e.detail === `to ${trackerId}`));
    assert.deepEqual(await liveSids(b.admin), []);
    await waitFor('the tracker dropped ivan', () => !tracker.sessions().includes(ivan.sid));
    // Measured, not asserted tightly (a shared, loaded machine): the target is p99 <= 150 ms.
    console.log(`# cross-instance kick: removal in ${ms} ms`);
  } finally {
    for (const c of clients) c.tracker.close();
    await rig.stop();
  }
});

test('100 kicks round-robin to both control servers with 30% of messages lost on every hop (control link, tracker channel, both ways): all complete, nothing left pending', async () => {
  const random = randomFaults(0.3, 20261130);
  let lossy = false;
  let dropped = 0;
  const faults: MessageFaults = {
    drop: (hop, dir, type) => {
      if (!lossy || !random.drop(hop, dir, type)) return false;
      dropped++;
      return true;
    },
  };
  const rig = await startClusterRig();
  const clients: ChainClient[] = [];
  try {
    const controls = [await rig.startControl('ctl-a', { faults }), await rig.startControl('ctl-b', { faults })];
    const [a, b] = controls as [(typeof controls)[0], (typeof controls)[0]];
    const t1 = await rig.startTracker([a.url, b.url], { faults });
    const t2 = await rig.startTracker([b.url, a.url], { faults });
    await seedProgram(a.admin, ['crowd']);
    const creds = { user: 'crowd', password: 'pw-crowd', program: 'ch1' };
    // Half admitted through A (so on t1), half through B (on t2).
    clients.push(...(await inBatches([...Array(100).keys()], 25, (_, i) => chainClient(controls[i % 2]?.url ?? '', creds, { port: 32_000 + i, faults }))));
    await waitFor('100 joins recorded', async () => (await liveSids(a.admin)).length === 100, 30_000);
    assert.ok(t1.sessions().length > 0 && t2.sessions().length > 0, 'sessions on both trackers');

    lossy = true;
    // Client i is kicked through control i % 3 % 2: many kicks enter the instance without the session's tracker.
    const kicked = await inBatches(clients, 20, (c, i) => (controls[(i % 3) % 2] ?? a).admin.kick({ session: c.sid }, 'lossy cluster test'));
    assert.equal(kicked.flat().length, 100);
    await waitFor('every disconnect completed', async () => (await a.admin.listDisconnects({ pending: true })).length === 0, 90_000);
    lossy = false;
    const done = await b.admin.listDisconnects({ limit: 1000 });
    assert.equal(done.length, 100);
    assert.ok(done.every((d) => d.state === 'completed'));
    await waitFor('the trackers hold none of them', () => t1.sessions().length + t2.sessions().length === 0, 15_000);
    assert.deepEqual(await liveSids(a.admin), []);
    assert.deepEqual(await liveSids(b.admin), []);
    assert.equal(a.server?.orchestrator.pendingCount, 0);
    assert.equal(b.server?.orchestrator.pendingCount, 0);
    assert.ok(dropped > 50, `${dropped} messages were lost`);
  } finally {
    for (const c of clients) c.tracker.close();
    await rig.stop();
  }
});
