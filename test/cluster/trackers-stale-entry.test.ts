/**
 * A client that moved to another tracker leaves a stale entry behind on the
 * one it left (when that tracker is alive and only the client's channel
 * broke). The old tracker dropping it later must not delete what the new
 * tracker wrote in the shared Redis swarm under the same sid: the client
 * would vanish from every peer list until its next heartbeat.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { ManualClock } from '../../src/core/clock.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import { connectRedis, parseRedisUrl } from '../../src/store/redis-connection.js';
import { RedisSwarmStore } from '../../src/store/redis-swarm-store.js';
import { createTracker, type Tracker } from '../../src/tracker/create-tracker.js';
import type { TrackerToControl } from '../../src/protocol/control-link.js';
import { connectRedisTestDb, REDIS_TEST_URL, type RedisTestDb } from '../store/redis-test-db.js';
import { announceHttp, announceQuery, compactToList, failureOf, infoHashOf, mintToken, peerIdOf, SECRET, startFakeControl, type FakeControl } from '../tracker/helpers.js';

interface Node {
  tracker: Tracker;
  control: FakeControl;
  clock: ManualClock;
  store: RedisSwarmStore;
  announceUrl: string;
}

async function startNode(prefix: string, clock: ManualClock): Promise<Node> {
  const control = await startFakeControl();
  const target = parseRedisUrl(REDIS_TEST_URL);
  const store = new RedisSwarmStore(await connectRedis(target, () => undefined), { prefix, staleMs: null, clock, display: target.display });
  const tracker = await createTracker({ controlUrl: control.url, secret: SECRET, clock, store, webServer: webServerFactory(), logger: pino({ level: 'silent' }) });
  const { announceUrl } = await tracker.start();
  await tracker.ready;
  return { tracker, control, clock, store, announceUrl };
}

/** Runs a node's virtual time on a second at a time (its expiry sweeps each second) until its leave of `sid` is reported. */
async function runUntilLeft(node: Node, sid: string): Promise<void> {
  let left = false;
  void node.control.received.waitFor((m: TrackerToControl) => m.type === 'leave' && m.sid === sid).then(() => (left = true));
  for (let i = 0; i < 200 && !left; i++) {
    node.clock.advance(1_000);
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(left, `${sid} never left`);
}

describe('a tracker dropping a client that moved to another tracker', () => {
  const H = infoHashOf('moving');
  const hex = H.toString('hex');
  let db: RedisTestDb;
  let t1: Node;
  let t2: Node;
  const announce = async (node: Node, sid: string, n: number) =>
    announceHttp(node.announceUrl, announceQuery({ infoHash: H, peerId: peerIdOf(n), port: 7000 + n, token: await mintToken(node.control, node.clock, { sid, prg: 'moving' }) }));

  before(async () => {
    db = await connectRedisTestDb();
    const prefix = db.freshPrefix();
    t1 = await startNode(prefix, new ManualClock());
    // The second tracker's clock is a little ahead, as any two machines' are: its writes carry its own time.
    t2 = await startNode(prefix, new ManualClock(1_700_000_000_000 + 7_000));
  });
  after(async () => {
    for (const node of [t1, t2]) {
      await node.tracker.stop();
      await node.store.close();
      await node.control.close();
    }
    await db.cleanup();
  });

  it("leaves the entry the new tracker wrote, and still removes a client that did not move", async () => {
    assert.equal(failureOf(await announce(t1, 'mover', 1)), undefined);
    assert.equal(failureOf(await announce(t1, 'stayer', 2)), undefined);
    // The mover's channel to T1 broke; it announces on T2 with the same session.
    assert.equal(failureOf(await announce(t2, 'mover', 1)), undefined);
    const written = await t2.store.get(hex, 'mover');
    assert.equal(written?.lastSeen, t2.clock.now(), "the entry is now T2's");

    // T1 never hears from either again: its expiry drops both (HTTP clients: two announce intervals).
    await runUntilLeft(t1, 'mover');
    await runUntilLeft(t1, 'stayer');
    assert.deepEqual(await t1.store.get(hex, 'mover'), written, "T1 did not delete T2's entry");
    assert.equal(await t1.store.get(hex, 'stayer'), undefined, 'a client that did not move is removed as before');

    const listed = await announce(t2, 'newcomer', 3);
    assert.deepEqual(compactToList(listed['peers']), ['127.0.0.1:7001'], 'the mover is still listed to newcomers');
  });
});
