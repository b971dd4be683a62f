/**
 * Two trackers sharing one revocation store (issue 12 part 2), in memory (one
 * process's hub) and over Redis, with real channels: a session kicked on T1
 * (the control link's disconnect, step A) is at once refused by T2 at
 * announce, pushed as `revoked` to T2's clients of the program (not to
 * another program's), listed in the `peers` answers T2 gives newcomers, and
 * told its kick if it proves its key there. A tracker started afterwards
 * knows it from its first announce; a client T2 holds when the kick comes is
 * ended by T2 as if the disconnect had come to it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RevocationStore } from '../../src/core/ports.js';
import { ManualClock } from '../../src/core/clock.js';
import { pino } from 'pino';
import { openSwarmStore } from '../../src/cli/swarm-store.js';
import { webServerFactory } from '../../src/cli/web-server.js';
import { systemClock } from '../../src/protocol/system-clock.js';
import { connectRedis, parseRedisUrl } from '../../src/store/redis-connection.js';
import { MemorySwarmStore } from '../../src/store/memory-swarm-store.js';
import { RedisRevocationStore } from '../../src/store/redis-revocation-store.js';
import { createTracker, type Tracker } from '../../src/tracker/create-tracker.js';
import { MemoryRevocationHub } from '../../src/tracker/revocation-memory.js';
import { connectRedisTestDb, REDIS_TEST_URL, type RedisTestDb } from '../store/redis-test-db.js';
import { infoHashOf, mintToken, openChannel, peerIdOf, SECRET, startFakeControl, type ChannelClient, type FakeControl } from './helpers.js';

type Msg = Record<string, unknown>;

interface Node {
  tracker: Tracker;
  control: FakeControl;
  clock: ManualClock;
  wsUrl: string;
  revocations: RevocationStore;
}

const announce = (id: string, token: string, n: number, program = 'live'): Msg => ({
  type: 'announce',
  id,
  token,
  info_hash: infoHashOf(program).toString('hex'),
  peer_id: peerIdOf(n).toString('hex'),
  port: 8000 + n,
});

function scenario(name: string, openStore: () => Promise<RevocationStore>, done: () => Promise<void>): void {
  describe(`revocations shared by two trackers: ${name}`, () => {
    const nodes: Node[] = [];
    const channels: ChannelClient[] = [];
    let t1: Node;
    let t2: Node;

    async function startNode(): Promise<Node> {
      const clock = new ManualClock(Date.now());
      const control = await startFakeControl();
      const revocations = await openStore();
      const tracker = await createTracker({
        controlUrl: control.url,
        secret: SECRET,
        clock,
        store: new MemorySwarmStore(),
        revocationStore: revocations,
        heartbeatTimeoutMs: 3_600_000,
        channelLimits: { keepaliveMs: 3_600_000, bindTimeoutMs: 3_600_000 },
        webServer: webServerFactory(),
      });
      const { wsUrl } = await tracker.start();
      await tracker.ready;
      const node = { tracker, control, clock, wsUrl, revocations };
      nodes.push(node);
      return node;
    }

    async function join(node: Node, sid: string, n: number, program = 'live'): Promise<{ c: ChannelClient; reply: Msg }> {
      const c = await openChannel(node.wsUrl);
      channels.push(c);
      c.send(announce(`a-${sid}`, await mintToken(node.control, node.clock, { sid, prg: program }), n, program));
      const reply = await c.messages.waitFor((m) => m['id'] === `a-${sid}`);
      return { c, reply };
    }

    before(async () => {
      t1 = await startNode();
      t2 = await startNode();
    });
    after(async () => {
      for (const c of channels) await c.close();
      for (const n of nodes) {
        await n.tracker.stop();
        await n.revocations.close();
        await n.control.close();
      }
      await done();
    });

    it('a kick on T1: T2 refuses the session, pushes revoked to its clients of the program only, lists it to newcomers and tells the kicked client its kick', async () => {
      const kicked = await join(t1, 'kicked', 1);
      assert.equal(kicked.reply['type'], 'peers', JSON.stringify(kicked.reply));
      const watcher = await join(t2, 'watcher', 2);
      const elsewhere = await join(t2, 'elsewhere', 3, 'other');
      assert.equal(watcher.reply['type'], 'peers');

      t1.control.send({ type: 'disconnect', id: 'dc-1', sid: 'kicked', reason: 'operator' });
      const pushed = await watcher.c.messages.waitFor((m) => m['type'] === 'revoked');
      assert.equal(pushed['sid'], 'kicked');
      watcher.c.send({ type: 'ack', id: pushed['id'] });
      assert.equal(t2.tracker.isRevoked('kicked'), true);
      // T1 did its own part of the chain as before: the client hears its disconnect.
      assert.deepEqual(await kicked.c.messages.waitFor((m) => m['type'] === 'disconnect'), { type: 'disconnect', id: 'dc-1', reason: 'operator' });

      const late = await join(t2, 'late', 4);
      assert.deepEqual(late.reply['revoked'], ['kicked'], 'listed to a newcomer on T2');
      assert.ok(!(late.reply['peers'] as Msg[]).some((p) => p['sid'] === 'kicked'));
      const otherLate = await join(t2, 'other-late', 5, 'other');
      assert.equal(otherLate.reply['revoked'], undefined, "another program's newcomer is not told");

      // The kicked client tries T2 with a token T2 accepts: told its kick, then refused.
      const back = await openChannel(t2.wsUrl);
      channels.push(back);
      back.send(announce('re', await mintToken(t2.control, t2.clock, { sid: 'kicked', prg: 'live' }), 1));
      assert.deepEqual(await back.next(), { type: 'disconnect', id: 'dc-1', reason: 'operator' });
      assert.deepEqual(await back.next(), { type: 'error', id: 're', code: 'token_revoked', message: 'session revoked' });
      assert.ok(!(await t2.tracker.peers(infoHashOf('live').toString('hex'))).some((p) => p.sid === 'kicked'));
      assert.equal(elsewhere.c.messages.items.filter((m) => m['type'] === 'revoked').length, 0);
    });

    it("a session T2 holds when T1 is told to kick it is ended by T2: its disconnect, its peers told, its leave reported with the kick's id", async () => {
      const twin = await join(t2, 'held-on-t2', 6);
      const peer = await join(t2, 'peer-on-t2', 7);
      t1.control.send({ type: 'disconnect', id: 'dc-2', sid: 'held-on-t2', reason: 'abuse' });
      // T1 does not hold it: it answers with a leave at once, as before.
      const t1Leave = await t1.control.received.waitFor((m) => m.type === 'leave' && m.sid === 'held-on-t2');
      assert.equal(t1Leave.type === 'leave' && t1Leave.ref, 'dc-2');
      const told = await twin.c.messages.waitFor((m) => m['type'] === 'disconnect');
      assert.deepEqual(told, { type: 'disconnect', id: 'dc-2', reason: 'abuse' });
      assert.equal((await peer.c.messages.waitFor((m) => m['type'] === 'revoked' && m['sid'] === 'held-on-t2'))['sid'], 'held-on-t2');
      twin.c.send({ type: 'stopped', id: 'st', ref: 'dc-2' });
      const leave = await t2.control.received.waitFor((m) => m.type === 'leave' && m.sid === 'held-on-t2');
      assert.equal(leave.type === 'leave' && `${leave.reason}/${leave.ref ?? ''}`, 'stopped/dc-2');
      assert.deepEqual(t2.tracker.sessions().includes('held-on-t2'), false);
    });

    it('a tracker started after the kick refuses the session from its first announce, and a revocation made on T2 reaches T1', async () => {
      const t3 = await startNode();
      assert.equal(t3.tracker.isRevoked('kicked'), true);
      const late = await join(t3, 'on-t3', 8);
      assert.deepEqual(new Set(late.reply['revoked'] as string[]), new Set(['kicked', 'held-on-t2']));
      t2.tracker.revoke('by-t2');
      const end = Date.now() + 5_000;
      while (!t1.tracker.isRevoked('by-t2') || !t3.tracker.isRevoked('by-t2')) {
        if (Date.now() > end) throw new Error('by-t2 did not reach T1 and T3');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    });
  });
}

const hub = new MemoryRevocationHub();
scenario('memory', async () => hub.handle(), async () => undefined);

let db: RedisTestDb | null = null;
let prefix = '';
scenario(
  'redis',
  async () => {
    db ??= await connectRedisTestDb();
    prefix ||= db.freshPrefix();
    const target = parseRedisUrl(REDIS_TEST_URL);
    const redis = await connectRedis(target, () => undefined);
    const sub = await connectRedis(target, () => undefined);
    return new RedisRevocationStore(redis, sub, { prefix, clock: systemClock, display: target.display });
  },
  async () => {
    await db?.cleanup();
  },
);

describe('--swarm-store redis:// brings the shared revocation list (cli/swarm-store.ts)', () => {
  it('the Redis swarm store comes with a revocation store on the same Redis, which createTracker takes and the store closes; memory comes with none', async () => {
    const logger = pino({ level: 'silent' });
    const store = await openSwarmStore(REDIS_TEST_URL, { heartbeatTimeoutMs: undefined, logger });
    const shared = store.revocations;
    try {
      assert.ok(shared, 'a revocation store rides with the swarm store');
      assert.deepEqual(shared.status(), { reachable: true, backlog: 0 });
    } finally {
      await store.close();
    }
    assert.equal(shared.status().reachable, false, 'closed with the swarm store');
    assert.equal((await openSwarmStore('memory', { heartbeatTimeoutMs: undefined, logger })).revocations, undefined);
  });
});
