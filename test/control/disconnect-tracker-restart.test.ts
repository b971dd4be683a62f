/**
 * A session being kicked when its tracker restarts: the new tracker's hello
 * does not list it. The control server resends the kick (the tracker answers
 * it at once for a session it does not hold); without an answer, the rejoin
 * grace ends it as lost.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../../src/core/config.js';
import type { ControlToTracker } from '../../src/protocol/control-link.js';
import { FakeTracker, startWithTracker } from './helpers.js';
import { joinedSession } from './disconnect-helpers.js';

function asDisconnect(m: ControlToTracker): Extract<ControlToTracker, { type: 'disconnect' }> {
  assert.equal(m.type, 'disconnect', `expected a disconnect, got ${JSON.stringify(m)}`);
  return m as Extract<ControlToTracker, { type: 'disconnect' }>;
}

describe('a kick across a tracker restart (control server side)', () => {
  /** s1 joined and is being kicked when its tracker restarts: the new link's hello does not list it. */
  async function kickAcrossTrackerRestart(h: Awaited<ReturnType<typeof startWithTracker>>) {
    await joinedSession(h, h.tracker, 's1');
    const d = await h.server.orchestrator.kick('s1', 'bye');
    await h.tracker.next();
    await h.tracker.close();
    const t = await FakeTracker.connect(h.url);
    await t.hello('tracker-1', []);
    return { d, t };
  }

  it('resends a kick to a tracker that comes back without the session, and completes on its answer', async () => {
    const h = await startWithTracker({ expiryCheckMs: null });
    try {
      const { d, t } = await kickAcrossTrackerRestart(h);
      try {
        const cmd = asDisconnect(await t.next());
        assert.equal(cmd.id, d.id);
        // A restarted tracker answers a disconnect for a session it does not hold at once (and keeps it revoked).
        t.send({ type: 'ack', id: cmd.id });
        t.send({ type: 'leave', id: 'l1', sid: 's1', reason: 'revoked', ref: cmd.id, at: h.clock.now() });
        assert.deepEqual(await t.next(), { type: 'ack', id: 'l1' });
        await h.server.orchestrator.idle();
        const done = await h.store.getDisconnect(d.id);
        assert.deepEqual([done?.state, done?.outcome], ['completed', 'revoked']);
        assert.equal((await h.store.getSession('s1'))?.endReason, 'revoked');
        assert.equal(h.server.link.awaitingRejoin, 0);
      } finally {
        await t.close();
      }
    } finally {
      await h.close();
    }
  });

  it('completes a kick with outcome lost when a tracker that came back without the session never answers', async () => {
    const h = await startWithTracker({ expiryCheckMs: null });
    try {
      const { d, t } = await kickAcrossTrackerRestart(h);
      try {
        asDisconnect(await t.next());
        h.clock.advance(DEFAULTS.trackerRejoinGraceMs);
        for (let i = 0; i < 400 && (await h.store.getSession('s1'))?.state !== 'ended'; i++) await new Promise((r) => setTimeout(r, 5));
        await h.server.orchestrator.idle();
        const done = await h.store.getDisconnect(d.id);
        assert.deepEqual([done?.state, done?.outcome], ['completed', 'lost']);
        assert.equal((await h.store.getSession('s1'))?.endReason, 'lost');
      } finally {
        await t.close();
      }
    } finally {
      await h.close();
    }
  });
});
