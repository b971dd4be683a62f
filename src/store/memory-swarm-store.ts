/**
 * Swarm state in process memory: the default for a single tracker. Each swarm
 * keeps its peers in a dense array plus a sid → slot index, so put, get and
 * remove are O(1) (remove swaps the last peer into the hole) and sampling
 * picks random slots without copying the swarm. Empty swarms are dropped.
 * Seeders are peers in the source role, leechers are viewers: a live swarm is
 * never "complete", but the source is the one peer that holds everything.
 */
import type { SwarmPeer, SwarmStore } from '../core/ports.js';

interface Swarm {
  peers: SwarmPeer[];
  slot: Map<string, number>;
  sources: number;
}

export class MemorySwarmStore implements SwarmStore {
  private readonly swarms = new Map<string, Swarm>();

  async put(infoHash: string, peer: SwarmPeer): Promise<boolean> {
    let swarm = this.swarms.get(infoHash);
    if (!swarm) {
      swarm = { peers: [], slot: new Map(), sources: 0 };
      this.swarms.set(infoHash, swarm);
    }
    const copy = { ...peer };
    const at = swarm.slot.get(peer.sid);
    if (at !== undefined) {
      const old = swarm.peers[at];
      if (old?.role === 'source') swarm.sources--;
      if (copy.role === 'source') swarm.sources++;
      swarm.peers[at] = copy;
      return false;
    }
    swarm.slot.set(peer.sid, swarm.peers.length);
    swarm.peers.push(copy);
    if (copy.role === 'source') swarm.sources++;
    return true;
  }

  async get(infoHash: string, sid: string): Promise<SwarmPeer | undefined> {
    const swarm = this.swarms.get(infoHash);
    const at = swarm?.slot.get(sid);
    if (!swarm || at === undefined) return undefined;
    const peer = swarm.peers[at];
    return peer ? { ...peer } : undefined;
  }

  async remove(infoHash: string, sid: string): Promise<boolean> {
    const swarm = this.swarms.get(infoHash);
    if (!swarm) return false;
    const removed = this.removeFrom(swarm, sid);
    if (swarm.peers.length === 0) this.swarms.delete(infoHash);
    return removed !== undefined;
  }

  async sample(infoHash: string, n: number, excludeSid: string | null): Promise<SwarmPeer[]> {
    const swarm = this.swarms.get(infoHash);
    if (!swarm || n <= 0) return [];
    const { peers } = swarm;
    const excluded = excludeSid === null ? undefined : swarm.slot.get(excludeSid);
    const available = peers.length - (excluded === undefined ? 0 : 1);
    const want = Math.min(n, available);
    if (want <= 0) return [];
    const picked: number[] = [];
    if (want * 2 >= peers.length) {
      // Dense case: a partial Fisher–Yates over slot numbers.
      const slots = peers.map((_, i) => i).filter((i) => i !== excluded);
      for (let i = 0; i < want; i++) {
        const j = i + Math.floor(Math.random() * (slots.length - i));
        const a = slots[i] as number;
        const b = slots[j] as number;
        slots[i] = b;
        slots[j] = a;
        picked.push(b);
      }
    } else {
      // Sparse case: rejection sampling touches only about `want` slots.
      const seen = new Set<number>();
      if (excluded !== undefined) seen.add(excluded);
      while (picked.length < want) {
        const i = Math.floor(Math.random() * peers.length);
        if (seen.has(i)) continue;
        seen.add(i);
        picked.push(i);
      }
    }
    return picked.map((i) => ({ ...(peers[i] as SwarmPeer) }));
  }

  async list(infoHash: string): Promise<SwarmPeer[]> {
    return (this.swarms.get(infoHash)?.peers ?? []).map((p) => ({ ...p }));
  }

  async count(infoHash: string): Promise<{ seeders: number; leechers: number }> {
    const swarm = this.swarms.get(infoHash);
    if (!swarm) return { seeders: 0, leechers: 0 };
    return { seeders: swarm.sources, leechers: swarm.peers.length - swarm.sources };
  }

  async expire(cutoff: number): Promise<Array<{ infoHash: string; peer: SwarmPeer }>> {
    const gone: Array<{ infoHash: string; peer: SwarmPeer }> = [];
    for (const [infoHash, swarm] of this.swarms) {
      const stale = swarm.peers.filter((p) => p.lastSeen < cutoff);
      for (const peer of stale) {
        this.removeFrom(swarm, peer.sid);
        gone.push({ infoHash, peer });
      }
      if (swarm.peers.length === 0) this.swarms.delete(infoHash);
    }
    return gone;
  }

  async close(): Promise<void> {
    this.swarms.clear();
  }

  private removeFrom(swarm: Swarm, sid: string): SwarmPeer | undefined {
    const at = swarm.slot.get(sid);
    if (at === undefined) return undefined;
    const peer = swarm.peers[at] as SwarmPeer;
    const last = swarm.peers.pop() as SwarmPeer;
    if (last !== peer) {
      swarm.peers[at] = last;
      swarm.slot.set(last.sid, at);
    }
    swarm.slot.delete(sid);
    if (peer.role === 'source') swarm.sources--;
    return peer;
  }
}
