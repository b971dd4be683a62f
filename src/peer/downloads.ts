/**
 * Assembles pieces from 16 KiB blocks per (piece, peer) request. A piece is
 * requested whole from one peer; near its deadline a second peer may be asked
 * too, and the first complete copy wins.
 */
export const BLOCK = 16 * 1024;

export interface Download {
  seq: number;
  peerKey: string;
  buf: Buffer;
  received: number;
  blocks: Set<number>;
}

export function blocksOf(pieceLength: number): Array<{ begin: number; length: number }> {
  const out: Array<{ begin: number; length: number }> = [];
  for (let begin = 0; begin < pieceLength; begin += BLOCK) out.push({ begin, length: Math.min(BLOCK, pieceLength - begin) });
  return out;
}

export class Downloads {
  private readonly bySeq = new Map<number, Map<string, Download>>();

  constructor(private readonly pieceLength: number) {}

  start(seq: number, peerKey: string): Download {
    let m = this.bySeq.get(seq);
    if (!m) {
      m = new Map();
      this.bySeq.set(seq, m);
    }
    const d: Download = { seq, peerKey, buf: Buffer.allocUnsafe(this.pieceLength), received: 0, blocks: new Set() };
    m.set(peerKey, d);
    return d;
  }

  /**
   * Stores a block; returns the complete piece's bytes when this block finished
   * it, 'unexpected' for a block nobody asked this peer for, or null.
   */
  block(seq: number, peerKey: string, begin: number, data: Buffer): Buffer | 'unexpected' | null {
    const d = this.bySeq.get(seq)?.get(peerKey);
    if (!d || begin % BLOCK !== 0 || begin + data.length > this.pieceLength || d.blocks.has(begin)) return 'unexpected';
    const expected = Math.min(BLOCK, this.pieceLength - begin);
    if (data.length !== expected) return 'unexpected';
    data.copy(d.buf, begin);
    d.blocks.add(begin);
    d.received += data.length;
    if (d.received < this.pieceLength) return null;
    return d.buf;
  }

  /** Forgets every request for the piece; returns the peers still asked for it. */
  finish(seq: number): string[] {
    const m = this.bySeq.get(seq);
    this.bySeq.delete(seq);
    return m ? [...m.keys()] : [];
  }

  drop(seq: number, peerKey: string): void {
    const m = this.bySeq.get(seq);
    m?.delete(peerKey);
    if (m && m.size === 0) this.bySeq.delete(seq);
  }

  dropPeer(peerKey: string): number[] {
    const seqs: number[] = [];
    for (const [seq, m] of this.bySeq) {
      if (m.delete(peerKey)) seqs.push(seq);
      if (m.size === 0) this.bySeq.delete(seq);
    }
    return seqs;
  }

  has(seq: number, peerKey: string): boolean {
    return this.bySeq.get(seq)?.has(peerKey) ?? false;
  }
}
