/**
 * A set of piece seqs with exactly a `Set<number>`'s answers (add, has,
 * size, clear), kept small for the one shape it is used for: a peer's haves
 * (Peer.known), which arrive nearly in order. The newest `span` seqs live in
 * a ring of bits (`span` / 8 bytes); a seq that falls behind the ring while
 * still a member, or that is no safe non-negative integer, moves to a plain
 * Set, which honest peers leave empty. A Set<number> of 900 haves costs ~15 kB
 * per peer, and a viewer keeps one per peer: at 10,000 simulated viewers that
 * was most of the heap the garbage collector walked.
 */
export class SeqSet {
  private readonly words: Uint32Array;
  private readonly mask: number;
  /** The highest seq the ring has held since the last clear; the ring covers (hi - span, hi]. */
  private hi = -1;
  private inRing = 0;
  private readonly overflow = new Set<number>();

  /** `span`: a power of two, at least 32. */
  constructor(readonly span = 2048) {
    if (!Number.isSafeInteger(span) || span < 32 || (span & (span - 1)) !== 0) throw new RangeError(`span must be a power of two ≥ 32, got ${span}`);
    this.words = new Uint32Array(span >>> 5);
    this.mask = span - 1;
  }

  get size(): number {
    return this.inRing + this.overflow.size;
  }

  has(seq: number): boolean {
    if (this.inRange(seq)) return this.bit(seq);
    return this.overflow.size !== 0 && this.overflow.has(seq);
  }

  add(seq: number): this {
    if (!Number.isSafeInteger(seq) || seq < 0) {
      this.overflow.add(seq);
      return this;
    }
    if (seq > this.hi) this.advance(seq);
    else if (seq <= this.hi - this.span) {
      this.overflow.add(seq);
      return this;
    }
    const i = seq & this.mask;
    const w = i >>> 5;
    const b = 1 << (i & 31);
    const word = this.words[w] as number;
    if ((word & b) === 0) {
      this.words[w] = word | b;
      this.inRing++;
    }
    return this;
  }

  clear(): void {
    this.words.fill(0);
    this.overflow.clear();
    this.hi = -1;
    this.inRing = 0;
  }

  private inRange(seq: number): boolean {
    return seq >= 0 && seq <= this.hi && seq > this.hi - this.span && Number.isSafeInteger(seq);
  }

  private bit(seq: number): boolean {
    const i = seq & this.mask;
    return ((this.words[i >>> 5] as number) & (1 << (i & 31))) !== 0;
  }

  /** Moves the ring's top to seq; members that fall out of it go to the overflow set (still members). */
  private advance(seq: number): void {
    const from = this.hi;
    this.hi = seq;
    if (from < 0 || this.inRing === 0) return;
    // Seqs (from - span, seq - span] leave the ring: their slots are reused for (from, seq].
    if (seq - from >= this.span) {
      // Everything leaves: walk the ring once, not the jump.
      for (let s = Math.max(from - this.span + 1, 0); s <= from; s++) if (this.bit(s)) this.overflow.add(s);
      this.words.fill(0);
      this.inRing = 0;
      return;
    }
    for (let s = Math.max(from - this.span + 1, 0); s <= seq - this.span; s++) {
      if (!this.bit(s)) continue;
      this.overflow.add(s);
      const i = s & this.mask;
      this.words[i >>> 5] = (this.words[i >>> 5] as number) & ~(1 << (i & 31));
      this.inRing--;
    }
  }
}
