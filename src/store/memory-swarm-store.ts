/**
 * Swarm state in process memory: the default for a single tracker.
 *
 * Each swarm is a struct of arrays (see compact-swarm.ts): the peer id as 20
 * raw bytes, the IPv4 address and port as 6 bytes, lastSeen in a
 * Float64Array, the role as a flag byte, and only the sid and user kept as
 * strings (the very strings the tracker's session registry holds, so a
 * serving tracker pays for them once). A sid → slot index (slot-index.ts)
 * makes put, get and remove O(1); remove swaps the last peer into the hole.
 * Empty swarms are dropped. Seeders are peers in the source role, leechers
 * are viewers: a live swarm is never "complete", but the source is the one
 * peer that holds everything.
 */
import type { SwarmPeer, SwarmStore } from '../core/ports.js';
import { CompactSwarm } from './compact-swarm.js';

export class MemorySwarmStore implements SwarmStore {
  private readonly swarms = new Map<string, CompactSwarm>();

  async put(infoHash: string, peer: SwarmPeer): Promise<boolean> {
    let swarm = this.swarms.get(infoHash);
    if (!swarm) {
      swarm = new CompactSwarm();
      this.swarms.set(infoHash, swarm);
    }
    return swarm.put(peer);
  }

  async get(infoHash: string, sid: string): Promise<SwarmPeer | undefined> {
    const swarm = this.swarms.get(infoHash);
    const at = swarm?.slotOf(sid);
    return swarm && at !== undefined ? swarm.peerAt(at) : undefined;
  }

  async remove(infoHash: string, sid: string): Promise<boolean> {
    const swarm = this.swarms.get(infoHash);
    if (!swarm) return false;
    const at = swarm.slotOf(sid);
    if (at === undefined) return false;
    swarm.removeAt(at);
    if (swarm.size === 0) this.swarms.delete(infoHash);
    return true;
  }

  async sample(infoHash: string, n: number, excludeSid: string | null): Promise<SwarmPeer[]> {
    const swarm = this.swarms.get(infoHash);
    if (!swarm || n <= 0) return [];
    const size = swarm.size;
    const excluded = excludeSid === null ? undefined : swarm.slotOf(excludeSid);
    const want = Math.min(n, size - (excluded === undefined ? 0 : 1));
    if (want <= 0) return [];
    const picked: number[] = [];
    if (want * 2 >= size) {
      // Dense case: a partial Fisher–Yates over slot numbers.
      const slots: number[] = [];
      for (let i = 0; i < size; i++) if (i !== excluded) slots.push(i);
      for (let i = 0; i < want; i++) {
        const j = i + Math.floor(Math.random() * (slots.length - i));
        const b = slots[j] as number;
        slots[j] = slots[i] as number;
        slots[i] = b;
        picked.push(b);
      }
    } else {
      // Sparse case: rejection sampling touches only about `want` slots.
      const seen = new Set<number>();
      if (excluded !== undefined) seen.add(excluded);
      while (picked.length < want) {
        const i = Math.floor(Math.random() * size);
        if (seen.has(i)) continue;
        seen.add(i);
        picked.push(i);
      }
    }
    return swarm.peersAt(picked);
  }

  async list(infoHash: string): Promise<SwarmPeer[]> {
    const swarm = this.swarms.get(infoHash);
    if (!swarm) return [];
    return swarm.peersAt(Array.from({ length: swarm.size }, (_, i) => i));
  }

  async count(infoHash: string): Promise<{ seeders: number; leechers: number }> {
    const swarm = this.swarms.get(infoHash);
    if (!swarm) return { seeders: 0, leechers: 0 };
    return { seeders: swarm.sources, leechers: swarm.size - swarm.sources };
  }

  async expire(cutoff: number): Promise<Array<{ infoHash: string; peer: SwarmPeer }>> {
    const gone: Array<{ infoHash: string; peer: SwarmPeer }> = [];
    for (const [infoHash, swarm] of this.swarms) {
      // Downwards, so the peer swapped into a freed slot has been looked at already.
      for (let i = swarm.size - 1; i >= 0; i--) {
        if (swarm.lastSeenAt(i) >= cutoff) continue;
        gone.push({ infoHash, peer: swarm.peerAt(i) });
        swarm.removeAt(i);
      }
      if (swarm.size === 0) this.swarms.delete(infoHash);
    }
    return gone;
  }

  async close(): Promise<void> {
    this.swarms.clear();
  }
}
