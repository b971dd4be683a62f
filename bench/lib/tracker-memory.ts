/**
 * Child process, run with --expose-gc: the tracker's memory per peer at 100k
 * peers. Fills a fresh MemorySwarmStore with SwarmPeers (and, separately, the
 * tracker's SessionRegistry with TrackedSessions, the other per-peer state a
 * serving tracker keeps) and compares heapUsed + arrayBuffers after a full GC.
 */
import { randomBytes } from 'node:crypto';
import { MemorySwarmStore } from '../../src/store/memory-swarm-store.js';
import { SessionRegistry } from '../../src/tracker/session-registry.js';
import type { SwarmPeer } from '../../src/core/ports.js';

const N = Number(process.argv[2] ?? 100_000);
const HASHES = Array.from({ length: 4 }, () => randomBytes(20).toString('hex'));
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const collect = gc;

/** V8 heap plus ArrayBuffer backing stores: typed arrays keep their bytes outside heapUsed. */
function heap(): number {
  for (let i = 0; i < 3; i++) collect();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function peer(i: number): SwarmPeer {
  return {
    // Session ids and peer ids as the system makes them: random, base64url and hex.
    sid: randomBytes(16).toString('base64url'),
    user: `user${i}`,
    peerId: randomBytes(20).toString('hex'),
    ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    port: 1024 + (i % 60_000),
    role: 'viewer',
    lastSeen: Date.now(),
  };
}

// Each peer is made inside the loop, so its strings belong to the store alone (as they do in a tracker).
let store: MemorySwarmStore | null = new MemorySwarmStore();
const before = heap();
for (let i = 0; i < N; i++) await store.put(HASHES[i % HASHES.length] as string, peer(i));
const afterStore = heap();
const check = (await store.count(HASHES[0] as string)).leechers;
await store.close();
store = null;

// The serving tracker's whole per-peer state: the registry's TrackedSession plus the store's copy,
// sharing strings the way Membership.upsert does.
const store2 = new MemorySwarmStore();
const registry = new SessionRegistry();
const beforeAll = heap();
for (let i = 0; i < N; i++) {
  const p = peer(i);
  const infoHash = HASHES[i % HASHES.length] as string;
  // A literal in the field order of swarm-hook.ts, so the object has the shape a tracker's sessions have
  // (a spread copy would be a dictionary-mode object of about twice the size).
  registry.set({
    sid: p.sid,
    user: p.user,
    program: 'bench',
    role: p.role,
    infoHash,
    peerId: p.peerId,
    ip: p.ip,
    port: p.port,
    transport: 'ws',
    timeoutMs: 8_000,
    lastSeen: p.lastSeen,
    tokenExpiresAt: p.lastSeen + 300_000,
    tokenLifetimeMs: 300_000,
    clientKey: 'A'.repeat(43),
    channel: null,
  });
  await store2.put(infoHash, p);
}
const afterAll = heap();
// Both must stay reachable past the measurement: V8 collects an object no later code uses, even in scope.
const check2 = (await store2.count(HASHES[0] as string)).leechers;
process.send?.(
  {
    peers: N,
    store_bytes_per_peer: Math.round((afterStore - before) / N),
    tracker_bytes_per_peer: Math.round((afterAll - beforeAll) / N),
    check_first_swarm_size: check,
    check_first_swarm_size_with_registry: check2,
    registry_size: registry.size,
  },
  () => process.exit(0),
);
