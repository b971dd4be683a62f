/**
 * Assembles pieces from 16 KiB blocks per (piece, peer) request. A piece is
 * requested whole from one peer; near its deadline a second peer may be asked
 * too, and the first complete copy wins. Blocks are kept as they arrived (no
 * copy); the piece check joins them.
 */
export const BLOCK = 16 * 1024;

export interface Download {
  seq: number;
  peerKey: string;
  blocks: Array<Buffer | undefined>;
  missing: number;
}

export function blocksOf(pieceLength: number): Array<{ begin: number; length: number }> {
  const out: Array<{ begin: number; length: number }> = [];
  for (let begin = 0; begin < pieceLength; begin += BLOCK) out.push({ begin, length: Math.min(BLOCK, pieceLength - begin) });
  return out;
}

export class Downloads {
  private readonly bySeq = new Map<number, Map<string, Download>>();
  private readonly blockCount: number;

  constructor(private readonly pieceLength: number) {
    this.blockCount = Math.ceil(pieceLength / BLOCK);
  }

  start(seq: number, peerKey: string): Download {
    let m = this.bySeq.get(seq);
    if (!m) {
      m = new Map();
      this.bySeq.set(seq, m);
    }
    const d: Download = { seq, peerKey, blocks: new Array<Buffer | undefined>(this.blockCount), missing: this.blockCount };
    m.set(peerKey, d);
    return d;
  }

  /**
   * Stores a block; returns the piece's blocks, in order, when this block
   * finished it, 'unexpected' for a block nobody asked this peer for, or null.
   */
  block(seq: number, peerKey: string, begin: number, data: Buffer): Buffer[] | 'unexpected' | null {
    const d = this.bySeq.get(seq)?.get(peerKey);
    if (!d || begin % BLOCK !== 0 || begin + data.length > this.pieceLength) return 'unexpected';
    const i = begin / BLOCK;
    const expected = Math.min(BLOCK, this.pieceLength - begin);
    if (data.length !== expected || d.blocks[i] !== undefined) return 'unexpected';
    d.blocks[i] = data;
    if (--d.missing > 0) return null;
    return d.blocks as Buffer[];
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
