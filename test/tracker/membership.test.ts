/**
 * Membership's leave (step D) with a shared store that cannot be written: the
 * leave still reaches the control server, echoing the kick's id, and the
 * failure is told; with the store up, the peer is removed before the report.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SwarmPeer } from '../../src/core/ports.js';
import { ManualClock } from '../../src/core/clock.js';
import { MemorySwarmStore } from '../../src/store/memory-swarm-store.js';
import { Membership } from '../../src/tracker/membership.js';
import { Revocations } from '../../src/tracker/revocations.js';
import { SessionRegistry } from '../../src/tracker/session-registry.js';
import { SwarmPrograms } from '../../src/tracker/swarm-programs.js';
import type { TrackedSession } from '../../src/tracker/types.js';

const HASH = 'a'.repeat(40);

function session(sid: string, at: number): TrackedSession {
  return {
    sid,
    user: `u-${sid}`,
    program: 'p',
    role: 'viewer',
    infoHash: HASH,
    peerId: 'b'.repeat(40),
    ip: '127.0.0.1',
    port: 6881,
    transport: 'ws',
    timeoutMs: 60_000,
    lastSeen: at,
    tokenExpiresAt: at + 600_000,
    tokenLifetimeMs: 600_000,
    clientKey: 'k',
    channel: null,
  };
}

/** A memory store whose remove() fails while `down` (a Redis cut). */
class FlakyStore extends MemorySwarmStore {
  down = false;
  override async remove(infoHash: string, sid: string): Promise<boolean> {
    if (this.down) throw new Error('redis: connection lost');
    return super.remove(infoHash, sid);
  }
}

function rig() {
  const clock = new ManualClock(1_000_000);
  const store = new FlakyStore();
  const leaves: Array<{ sid: string; reason: string; ref?: string }> = [];
  const failures: string[] = [];
  const revocations = new Revocations();
  const membership = new Membership({
    store,
    registry: new SessionRegistry(),
    programs: new SwarmPrograms(),
    revocations,
    reporter: { join: () => undefined, leave: (l) => leaves.push({ sid: l.sid, reason: l.reason, ...(l.ref ? { ref: l.ref } : {}) }) },
    clock,
    onRemoveFailed: (sid) => failures.push(sid),
  });
  const listed = async (): Promise<string[]> => (await store.sample(HASH, 50, '')).map((p: SwarmPeer) => p.sid);
  return { clock, store, leaves, failures, revocations, membership, listed };
}

test('a kicked session leaves and its leave is reported even when the shared store cannot be written', async () => {
  const r = rig();
  await r.membership.upsert(session('s1', r.clock.now()));
  assert.deepEqual(await r.listed(), ['s1']);
  r.revocations.revoke('s1', r.clock.now(), 'kick-1');
  r.store.down = true;
  assert.equal(await r.membership.leave('s1', 'revoked'), true);
  assert.deepEqual(r.leaves, [{ sid: 's1', reason: 'revoked', ref: 'kick-1' }], 'step D reaches the control server with the kick id');
  assert.deepEqual(r.failures, ['s1'], 'the failed removal is told');
  assert.equal(await r.membership.leave('s1', 'revoked'), false, 'gone from the registry: a second leave is not reported');
  assert.equal(r.leaves.length, 1);
});

test('with the store up, the peer is removed before the leave is reported', async () => {
  const r = rig();
  await r.membership.upsert(session('s2', r.clock.now()));
  let listedAtReport: string[] | null = null;
  const seen = r.leaves.push.bind(r.leaves);
  r.leaves.push = (...items) => {
    void r.listed().then((l) => (listedAtReport = l));
    return seen(...items);
  };
  assert.equal(await r.membership.leave('s2', 'stopped'), true);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(listedAtReport, []);
  assert.deepEqual(r.failures, []);
});
