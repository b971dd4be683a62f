/**
 * Every hop of the tracker's part of the chain is at-least-once: with 30% of
 * the tracker's messages lost at random both ways on the control link and on
 * the client channels, 100 disconnects all end with an acked leave that
 * carries their id, and the tracker holds none of those sessions.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TimerHandle } from '../../src/core/clock.js';
import { randomFaults, type MessageFaults } from '../../src/core/faults.js';
import { infoHashOf, openChannel, peerIdOf, startRig, type ChannelClient } from './helpers.js';

const PROGRAMS = 5;
const PER_PROGRAM = 20;

/** A client that keeps heartbeating until it answers a disconnect, then answers `stopped` to every copy; acks revoked pushes. */
function obeyingClient(c: ChannelClient, every: (fn: () => void) => TimerHandle): void {
  const heartbeat = every(() => c.send({ type: 'heartbeat' }));
  c.ws.on('message', (data) => {
    const msg = JSON.parse(String(data)) as Record<string, unknown>;
    if (msg['type'] === 'disconnect') {
      heartbeat.cancel();
      c.send({ type: 'stopped', id: `st-${String(msg['id'])}`, ref: msg['id'] });
    } else if (msg['type'] === 'revoked') {
      c.send({ type: 'ack', id: msg['id'] });
    }
  });
}

describe('disconnect chain under message loss', () => {
  it('100 disconnects with 30% loss on both hops all end in an acked leave with their ref', async () => {
    const lossy = randomFaults(0.3, 20240611);
    let lossOn = false;
    const lost = new Map<string, number>();
    const faults: MessageFaults = {
      drop: (hop, direction, type) => {
        if (!lossOn || !lossy.drop(hop, direction, type)) return false;
        const key = `${hop}/${direction}`;
        lost.set(key, (lost.get(key) ?? 0) + 1);
        return true;
      },
    };
    const rig = await startRig({ clientRetryMs: 500, linkRetryMs: 1_000, heartbeatTimeoutMs: 30_000, faults });
    const { clock, control, tracker } = rig;
    const clients: ChannelClient[] = [];
    const timers: TimerHandle[] = [];
    try {
      const sids: string[] = [];
      for (let p = 0; p < PROGRAMS; p++) {
        for (let i = 0; i < PER_PROGRAM; i++) {
          const n = p * PER_PROGRAM + i;
          const sid = `s${n}`;
          const c = await openChannel(rig.wsUrl);
          clients.push(c);
          c.send({
            type: 'announce',
            id: `a${n}`,
            token: await rig.token({ sid, prg: `prog${p}`, ttlS: 3_600 }),
            info_hash: infoHashOf(`prog${p}`).toString('hex'),
            peer_id: peerIdOf(n).toString('hex'),
            port: 10_000 + n,
          });
          assert.equal((await c.next())['type'], 'peers');
          obeyingClient(c, (fn) => {
            const t = clock.setInterval(fn, 1_000);
            timers.push(t);
            return t;
          });
          sids.push(sid);
        }
      }
      assert.equal(tracker.sessions().length, PROGRAMS * PER_PROGRAM);

      // The control server's step A: each disconnect resent every second until acked.
      lossOn = true;
      const idOf = (sid: string): string => `dc-${sid}`;
      const acked = new Set<string>();
      const leaves = new Map<string, { reason: string; ref: string | undefined }>();
      let seen = 0;
      const readControl = (): void => {
        for (; seen < control.received.items.length; seen++) {
          const m = control.received.items[seen];
          if (m?.type === 'ack') acked.add(m.id);
          if (m?.type === 'leave') leaves.set(m.sid, { reason: m.reason, ref: m.ref });
        }
      };
      const sendPending = (): void => {
        readControl();
        for (const sid of sids) if (!acked.has(idOf(sid))) control.send({ type: 'disconnect', id: idOf(sid), sid, reason: 'load test' });
      };
      sendPending();
      timers.push(clock.setInterval(sendPending, 1_000));

      const mine = new Set(sids);
      const done = (): boolean => {
        readControl();
        return leaves.size === sids.length && tracker.pendingReports() === 0 && !tracker.sessions().some((s) => mine.has(s));
      };
      // Virtual time runs in small steps, with real I/O between them.
      for (let step = 0; step < 4_000 && !done(); step++) {
        clock.advance(50);
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.ok(done(), `unfinished: ${leaves.size}/${sids.length} leaves, ${tracker.pendingReports()} reports unacked, ${tracker.sessions().length} held`);
      for (const sid of sids) assert.deepEqual(leaves.get(sid), { reason: 'stopped', ref: idOf(sid) }, sid);
      assert.deepEqual(tracker.sessions(), []);
      assert.equal(tracker.pendingDisconnects(), 0);
      for (const key of ['control-link/send', 'control-link/receive', 'tracker-channel/send', 'tracker-channel/receive']) {
        assert.ok((lost.get(key) ?? 0) >= 10, `messages were lost on ${key}`);
      }
      // Revoked pushes to peers that have left are given up at their next period.
      clock.advance(500);
      assert.equal(tracker.pendingPushes(), 0);
    } finally {
      for (const t of timers) t.cancel();
      for (const c of clients) await c.close();
      await rig.close();
    }
  });
});
