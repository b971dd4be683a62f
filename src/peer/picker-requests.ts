/**
 * The picker's record of requests in flight, the only one the engine keeps
 * (as libtorrent's piece_picker keeps its downloading pieces): for each
 * (piece, peer) request, when it was sent and which of its blocks have
 * arrived. A piece is requested whole from one peer; near its deadline a
 * second peer may be asked too, and the first complete copy wins. Blocks are
 * kept as they arrived (no copy); the piece check joins them.
 */
import { cmp } from './picker-counts.js';

export const BLOCK = 16 * 1024;

export interface BlockRange {
  begin: number;
  length: number;
}

/** A request taken off the record: `missing` are the blocks its peer still owes (send them `cancel`). */
export interface Released {
  seq: number;
  peerKey: string;
  missing: BlockRange[];
}

interface Request {
  at: number;
  blocks: Array<Buffer | undefined>;
  left: number;
}

export class RequestBook {
  /** The blocks of one piece, in order. */
  readonly ranges: readonly BlockRange[];
  private readonly bySeq = new Map<number, Map<string, Request>>();
  private readonly byPeer = new Map<string, Map<number, Request>>();

  constructor(private readonly pieceLength: number) {
    const ranges: BlockRange[] = [];
    for (let begin = 0; begin < pieceLength; begin += BLOCK) ranges.push({ begin, length: Math.min(BLOCK, pieceLength - begin) });
    this.ranges = ranges;
  }

  add(seq: number, peerKey: string, nowMs: number): void {
    const r: Request = { at: nowMs, blocks: new Array<Buffer | undefined>(this.ranges.length), left: this.ranges.length };
    slot(this.bySeq, seq).set(peerKey, r);
    slot(this.byPeer, peerKey).set(seq, r);
  }

  has(seq: number, peerKey: string): boolean {
    return this.bySeq.get(seq)?.has(peerKey) ?? false;
  }

  isInFlight(seq: number): boolean {
    return this.bySeq.has(seq);
  }

  /** How many peers are asked for seq. */
  askerCount(seq: number): number {
    return this.bySeq.get(seq)?.size ?? 0;
  }

  /** When the latest request for seq was sent (-Infinity for none). */
  newestAt(seq: number): number {
    const m = this.bySeq.get(seq);
    let newestAt = -Infinity;
    if (m) for (const r of m.values()) if (r.at > newestAt) newestAt = r.at;
    return newestAt;
  }

  countAt(peerKey: string): number {
    return this.byPeer.get(peerKey)?.size ?? 0;
  }

  /**
   * Stores a block; returns the piece's blocks, in order, when this block
   * finished the request, 'unexpected' for a block nobody asked this peer for
   * (a late block of a cancelled request, or a wrong one), or null.
   */
  block(seq: number, peerKey: string, begin: number, data: Buffer): Buffer[] | 'unexpected' | null {
    const r = this.bySeq.get(seq)?.get(peerKey);
    if (!r || begin % BLOCK !== 0 || begin >= this.pieceLength) return 'unexpected';
    const i = begin / BLOCK;
    if (data.length !== this.ranges[i]?.length || r.blocks[i] !== undefined) return 'unexpected';
    r.blocks[i] = data;
    if (--r.left > 0) return null;
    return r.blocks as Buffer[];
  }

  /** Takes one request off the record, or null if there is none. */
  release(seq: number, peerKey: string): Released | null {
    const m = this.bySeq.get(seq);
    const r = m?.get(peerKey);
    if (!m || !r) return null;
    m.delete(peerKey);
    if (m.size === 0) this.bySeq.delete(seq);
    const mine = this.byPeer.get(peerKey);
    mine?.delete(seq);
    if (mine?.size === 0) this.byPeer.delete(peerKey);
    return { seq, peerKey, missing: this.ranges.filter((_, i) => r.blocks[i] === undefined) };
  }

  /** Every request for seq (but the one to `except`). */
  releaseSeq(seq: number, except?: string): Released[] {
    const keys = [...(this.bySeq.get(seq)?.keys() ?? [])].sort();
    return this.releaseAll(keys.filter((k) => k !== except).map((k) => [seq, k]));
  }

  /** Every request to one peer, lowest seq first. */
  releasePeer(peerKey: string): Released[] {
    const seqs = [...(this.byPeer.get(peerKey)?.keys() ?? [])].sort((a, b) => a - b);
    return this.releaseAll(seqs.map((s) => [s, peerKey]));
  }

  /** Every request for a piece below seq. */
  releaseBelow(seq: number): Released[] {
    const refs: Array<[number, string]> = [];
    for (const [s, m] of this.bySeq) if (s < seq) for (const k of m.keys()) refs.push([s, k]);
    return this.releaseAll(refs.sort(byRef));
  }

  /** The requests sent at or before `cutoffMs`, by seq then peer (not released). */
  olderThan(cutoffMs: number): ReadonlyArray<[number, string]> {
    let refs: Array<[number, string]> | null = null;
    // Run on every tick, and nearly always finds none: no allocation until it does.
    for (const [s, m] of this.bySeq) for (const [k, r] of m) if (r.at <= cutoffMs) (refs ??= []).push([s, k]);
    return refs === null ? NONE : refs.sort(byRef);
  }

  private releaseAll(refs: ReadonlyArray<[number, string]>): Released[] {
    const out: Released[] = [];
    for (const [s, k] of refs) {
      const r = this.release(s, k);
      if (r) out.push(r);
    }
    return out;
  }
}

const NONE: ReadonlyArray<[number, string]> = Object.freeze([]);

function slot<K, K2, V>(map: Map<K, Map<K2, V>>, key: K): Map<K2, V> {
  let m = map.get(key);
  if (!m) map.set(key, (m = new Map()));
  return m;
}

function byRef(a: [number, string], b: [number, string]): number {
  return a[0] - b[0] || cmp(a[1], b[1]);
}
