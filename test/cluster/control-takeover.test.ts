/**
 * A control server killed (kill -9: no graceful handoff) while it drives
 * pending disconnects: its trackers fail over to the other control server,
 * which takes the disconnects over once their leases run out and completes
 * every one; admissions keep working on the survivor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MessageFaults } from '../../src/core/faults.js';
import { DEFAULTS } from '../../src/core/config.js';
import { chainClient, type ChainClient } from '../e2e/chain-clients.js';
import { waitFor } from '../e2e/helpers.js';
import { seedProgram, startClusterRig } from './control-cluster-rig.js';

test('kill -9 of a control server with 10 disconnects pending: the other completes them all, and admits', async () => {
  const rig = await startClusterRig();
  const clients: ChainClient[] = [];
  // The tracker does not hear disconnect commands while A lives: they stay pending, driven (resent) by A.
  let deaf = true;
  const deafToDisconnects: MessageFaults = { drop: (hop, dir, type) => deaf && hop === 'control-link' && dir === 'receive' && type === 'disconnect' };
  try {
    const a = await rig.spawnControl('ctl-a');
    const b = await rig.startControl('ctl-b');
    // t1, linked to A, is the only tracker while the 10 are admitted: all of them are on it.
    const t1 = await rig.startTracker([a.url, b.url], { faults: deafToDisconnects });
    await seedProgram(b.admin, ['judy', 'kim']);
    for (let i = 0; i < 10; i++) clients.push(await chainClient(a.url, { user: 'judy', password: 'pw-judy', program: 'ch1' }, { port: 33_000 + i }));
    await waitFor('10 sessions joined on t1', () => t1.sessions().length === 10);
    await rig.startTracker([b.url, a.url]);
    const ids = (await Promise.all(clients.map((c, i) => (i % 2 === 0 ? a : b).admin.kick({ session: c.sid }, 'takeover test')))).flat().map((d) => d.id);
    assert.equal(ids.length, 10);
    await waitFor('A sent every command', async () => (await rig.store.listDisconnects({ pending: true })).filter((d) => d.attempts >= 1).length === 10);
    const { rows } = await rig.db.admin.query<{ owner: string | null }>(`SELECT DISTINCT owner FROM ${rig.schema}.disconnects WHERE state = 'pending'`);
    assert.deepEqual(rows, [{ owner: 'ctl-a' }], 'A holds every lease');

    const killedAt = Date.now();
    await a.stop(); // SIGKILL
    deaf = false;
    await waitFor('every disconnect completed on B', async () => (await rig.store.listDisconnects({ pending: true })).length === 0, 60_000);
    const ms = Date.now() - killedAt;
    for (const id of ids) {
      const d = await rig.store.getDisconnect(id);
      assert.equal(d?.state, 'completed');
      assert.equal(d?.outcome, 'stopped');
    }
    assert.equal(t1.sessions().length, 0);
    // Admission works on the survivor.
    const kim = await chainClient(b.url, { user: 'kim', password: 'pw-kim', program: 'ch1' }, { port: 33_100 });
    clients.push(kim);
    await waitFor('kim joined', async () => (await rig.store.getSession(kim.sid))?.state === 'joined');
    // Measured and reported (the issue asks for <= 10 s); bounded generously here for a loaded machine.
    console.log(`# control server killed: its 10 pending disconnects completed by the other in ${ms} ms (lease ${DEFAULTS.clusterLeaseMs} ms)`);
    assert.ok(ms < 45_000, `took ${ms} ms`);
  } finally {
    for (const c of clients) c.tracker.close();
    await rig.stop();
  }
});
