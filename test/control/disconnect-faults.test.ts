import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomFaults } from '../../src/core/faults.js';
import type { DisconnectView } from '../../src/control/index.js';
import { admin, seed, startServer } from './helpers.js';
import { openSession, SimulatedTracker } from './disconnect-helpers.js';

const RETRY = 200;
const N = 50;

describe('disconnect chain under message loss', () => {
  it(`completes ${N} disconnects with 30% of control-link messages lost both ways, leaving no orphan`, async () => {
    const dropped: string[] = [];
    const random = randomFaults(0.3, 20_250_101);
    const faults = {
      drop: (hop: 'control-link' | 'tracker-channel', direction: 'send' | 'receive', type: string) => {
        const lose = random.drop(hop, direction, type);
        if (lose) dropped.push(`${direction}:${type}`);
        return lose;
      },
    };
    const h = await startServer({ faults, disconnectRetryMs: RETRY, expiryCheckMs: null });
    const url = await h.server.listen(0);
    await seed(h);
    const tracker = await SimulatedTracker.connect(url, h.clock, RETRY);
    try {
      /** Advances virtual time until `done`, letting both ends exchange what each step sends. */
      const pump = async (done: () => Promise<boolean>): Promise<void> => {
        for (let step = 0; step < 3_000; step++) {
          if (await done()) return;
          h.clock.advance(RETRY / 2);
          await tracker.flush();
          await h.server.orchestrator.idle();
        }
        assert.fail('the chain did not settle');
      };

      for (let i = 0; i < N; i++) {
        await openSession(h.store, `s${i}`, 'alice', 'news', h.clock.now());
        tracker.join(`s${i}`);
      }
      await pump(async () => (await h.store.listSessions()).every((s) => s.state === 'joined') && tracker.unacked === 0);

      h.clock.advance(1);
      const kicked = await admin(h, 'POST', '/v1/admin/kick', { user: 'alice', reason: 'lossy' });
      assert.equal((kicked.body as { disconnects: DisconnectView[] }).disconnects.length, N);
      await pump(async () => (await h.store.listDisconnects({ pending: true })).length === 0 && tracker.unacked === 0);

      // Both lists agree: the tracker holds nobody, the control server has no open session.
      assert.equal(tracker.held.size, 0);
      assert.deepEqual(await h.store.listSessions(), []);
      const all = await h.store.listDisconnects();
      assert.equal(all.length, N);
      for (const d of all) {
        assert.equal(d.state, 'completed');
        assert.ok(d.outcome === 'stopped' || d.outcome === 'revoked', `${d.id}: ${d.outcome}`);
        const ev = d.timeline.map((e) => e.event);
        assert.equal(ev[0], 'command_sent');
        assert.ok(ev.includes('client_stopped') || ev.includes('client_gone'), ev.join(','));
        assert.ok(d.attempts >= 1);
      }
      assert.equal(h.server.orchestrator.pendingCount, 0);
      // The faults did bite, on every kind of message of the chain.
      for (const kind of ['send:disconnect', 'receive:ack', 'receive:leave', 'send:ack']) assert.ok(dropped.includes(kind), `no ${kind} was dropped`);
    } finally {
      await tracker.close();
      await h.close();
    }
  });
});
