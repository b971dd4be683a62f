/**
 * One swarm's peers as a struct of arrays, so a peer costs tens of bytes
 * rather than a JS object and five strings (about 300 B at 100k peers):
 * the peer id as 20 raw bytes, the IPv4 address and port as 6 bytes (BEP 23's
 * compact form), lastSeen in a Float64Array (epoch ms, exact), the role as a
 * flag byte. The sid and user stay strings: the tracker's session registry
 * holds the same string objects, so keeping them costs a pointer each.
 *
 * A peer whose address or peer id has no exact compact form (IPv6, a dotted
 * quad with leading zeros, a peer id not in lowercase hex) keeps those fields
 * as text in a side map, so every peer reads back exactly as it was put.
 */
import type { SwarmPeer } from '../core/ports.js';
import { SlotIndex } from './slot-index.js';

const PEER_ID_BYTES = 20;
const ADDR_BYTES = 6;
const MIN_CAPACITY = 16;
const SOURCE = 1;
/** The slot's address, port and peer id live in `odd`. */
const ODD = 2;
const LOWER_HEX_40 = /^[0-9a-f]{40}$/;
/**
 * Where peersAt gathers a sample's peer ids before hex-encoding them, shared
 * (nothing awaits in between). Sized for the largest sample (maxNumwant plus
 * slack); a bigger batch (a whole-swarm list) gets its own.
 */
const hexScratch = Buffer.allocUnsafe(256 * PEER_ID_BYTES);

/** The canonical dotted quad's 32-bit value, or -1 when `ip` is anything else (so formatting it back gives `ip`). */
function ipv4Value(ip: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // leading zero
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

interface OddFields {
  ip: string;
  peerId: string;
  port: number;
}

export class CompactSwarm {
  size = 0;
  sources = 0;
  private capacity = MIN_CAPACITY;
  private readonly sids: string[] = [];
  private readonly slots = new SlotIndex((slot) => this.sids[slot] as string);
  private readonly users: string[] = [];
  private peerIds = Buffer.alloc(MIN_CAPACITY * PEER_ID_BYTES);
  private addrs = Buffer.alloc(MIN_CAPACITY * ADDR_BYTES);
  private seen = new Float64Array(MIN_CAPACITY);
  private flags = new Uint8Array(MIN_CAPACITY);
  private odd: Map<string, OddFields> | null = null;

  slotOf(sid: string): number | undefined {
    return this.slots.get(sid);
  }

  /** Adds or overwrites the peer; true if it was new. */
  put(peer: SwarmPeer): boolean {
    let at = this.slots.get(peer.sid);
    const isNew = at === undefined;
    if (at === undefined) {
      // Grow by half: at most a third of the fixed-size bytes sit unused.
      if (this.size === this.capacity) this.resize(Math.ceil(this.capacity * 1.5));
      at = this.size++;
      this.sids[at] = peer.sid;
      this.slots.set(peer.sid, at);
    } else if ((this.flags[at] as number) & SOURCE) {
      this.sources--;
    }
    this.users[at] = peer.user;
    this.seen[at] = peer.lastSeen;
    let flags = peer.role === 'source' ? SOURCE : 0;
    if (peer.role === 'source') this.sources++;
    const ip = ipv4Value(peer.ip);
    const compactId = LOWER_HEX_40.test(peer.peerId);
    if (ip >= 0 && compactId && Number.isInteger(peer.port) && peer.port >= 0 && peer.port <= 0xffff) {
      this.addrs.writeUInt32BE(ip, at * ADDR_BYTES);
      this.addrs.writeUInt16BE(peer.port, at * ADDR_BYTES + 4);
      this.peerIds.write(peer.peerId, at * PEER_ID_BYTES, PEER_ID_BYTES, 'hex');
      this.odd?.delete(peer.sid);
    } else {
      flags |= ODD;
      this.odd ??= new Map();
      this.odd.set(peer.sid, { ip: peer.ip, peerId: peer.peerId, port: peer.port });
    }
    this.flags[at] = flags;
    return isNew;
  }

  /** A fresh SwarmPeer for the slot. */
  peerAt(at: number): SwarmPeer {
    return this.peersAt([at])[0] as SwarmPeer;
  }

  /**
   * Fresh SwarmPeers for the slots, in order. The peer ids are hex-encoded in
   * one call for the whole batch and cut into 40-char pieces: a call per peer
   * cost several times more, and a sample reads tens of peers per announce.
   */
  peersAt(slots: readonly number[]): SwarmPeer[] {
    const n = slots.length;
    const scratch = n * PEER_ID_BYTES <= hexScratch.length ? hexScratch : Buffer.allocUnsafe(n * PEER_ID_BYTES);
    const ids = this.peerIds;
    for (let k = 0; k < n; k++) {
      // A byte loop: Buffer#copy's argument checks cost more than 20 byte moves.
      const from = (slots[k] as number) * PEER_ID_BYTES;
      const to = k * PEER_ID_BYTES;
      for (let b = 0; b < PEER_ID_BYTES; b++) scratch[to + b] = ids[from + b] as number;
    }
    const hex = scratch.toString('hex', 0, n * PEER_ID_BYTES);
    const addrs = this.addrs;
    const out: SwarmPeer[] = new Array<SwarmPeer>(n);
    for (let k = 0; k < n; k++) {
      const at = slots[k] as number;
      const sid = this.sids[at] as string;
      const flags = this.flags[at] as number;
      const a = at * ADDR_BYTES;
      const odd = flags & ODD ? this.odd?.get(sid) : undefined;
      out[k] = {
        sid,
        user: this.users[at] as string,
        peerId: odd ? odd.peerId : hex.slice(k * 40, k * 40 + 40),
        ip: odd ? odd.ip : `${addrs[a] as number}.${addrs[a + 1] as number}.${addrs[a + 2] as number}.${addrs[a + 3] as number}`,
        port: odd ? odd.port : ((addrs[a + 4] as number) << 8) | (addrs[a + 5] as number),
        role: flags & SOURCE ? 'source' : 'viewer',
        lastSeen: this.seen[at] as number,
      };
    }
    return out;
  }

  lastSeenAt(at: number): number {
    return this.seen[at] as number;
  }

  /** Removes the peer in `at`; the last peer moves into its slot. */
  removeAt(at: number): void {
    const sid = this.sids[at] as string;
    const flags = this.flags[at] as number;
    if (flags & SOURCE) this.sources--;
    if (flags & ODD) this.odd?.delete(sid);
    this.slots.delete(sid);
    const last = --this.size;
    // The moved peer's index entry is found through its old slot, so sids[last] stays until it is repointed.
    if (at !== last) {
      const moved = this.sids[last] as string;
      this.sids[at] = moved;
      this.users[at] = this.users[last] as string;
      this.peerIds.copy(this.peerIds, at * PEER_ID_BYTES, last * PEER_ID_BYTES, (last + 1) * PEER_ID_BYTES);
      this.addrs.copy(this.addrs, at * ADDR_BYTES, last * ADDR_BYTES, (last + 1) * ADDR_BYTES);
      this.seen[at] = this.seen[last] as number;
      this.flags[at] = this.flags[last] as number;
      this.slots.set(moved, at);
    }
    this.sids.pop();
    this.users.pop();
    if (this.odd?.size === 0) this.odd = null;
    // Shrink at a quarter full, so a swarm that shrinks gives memory back without resizing back and forth.
    if (this.capacity > MIN_CAPACITY && this.size * 4 <= this.capacity) this.resize(Math.max(MIN_CAPACITY, this.capacity >> 1));
  }

  private resize(capacity: number): void {
    const n = this.size;
    const peerIds = Buffer.alloc(capacity * PEER_ID_BYTES);
    this.peerIds.copy(peerIds, 0, 0, n * PEER_ID_BYTES);
    const addrs = Buffer.alloc(capacity * ADDR_BYTES);
    this.addrs.copy(addrs, 0, 0, n * ADDR_BYTES);
    const seen = new Float64Array(capacity);
    seen.set(this.seen.subarray(0, n));
    const flags = new Uint8Array(capacity);
    flags.set(this.flags.subarray(0, n));
    this.peerIds = peerIds;
    this.addrs = addrs;
    this.seen = seen;
    this.flags = flags;
    this.capacity = capacity;
  }
}
