/**
 * A seeded pseudo-random generator (sfc32, seeded through splitmix32): every
 * draw of the simulation comes from here, so one seed gives one run, bit for
 * bit. Math.random is never used on the simulation's path.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4_294_967_296;
  }

  /** Uniform in [lo, hi). */
  between(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** A new generator whose draws do not disturb this one's sequence (one per concern: links, joins, the tracker). */
  fork(label: number): Rng {
    return new Rng((this.u32() ^ Math.imul(label + 1, 0x27d4eb2d)) >>> 0);
  }

  /** Up to k distinct items of `items`, uniformly, skipping `exclude` (a partial Fisher-Yates on a copy of the indexes). */
  sample<T>(items: readonly T[], k: number, exclude?: (item: T) => boolean): T[] {
    const out: T[] = [];
    const n = items.length;
    if (n === 0 || k <= 0) return out;
    // Few wanted from many: draw indexes and reject repeats (O(k) instead of copying n items).
    const seen = new Set<number>();
    let tries = 0;
    while (out.length < k && seen.size < n && tries < 4 * k + 64) {
      tries++;
      const i = this.int(n);
      if (seen.has(i)) continue;
      seen.add(i);
      const item = items[i] as T;
      if (exclude?.(item)) continue;
      out.push(item);
    }
    if (out.length >= k || seen.size >= n) return out;
    // Dense case (k close to n): finish with a pass over what was not drawn, in a shuffled order.
    const rest: number[] = [];
    for (let i = 0; i < n; i++) if (!seen.has(i)) rest.push(i);
    for (let i = rest.length - 1; i > 0 && out.length < k; i--) {
      const j = this.int(i + 1);
      const tmp = rest[i] as number;
      rest[i] = rest[j] as number;
      rest[j] = tmp;
    }
    for (const i of rest) {
      if (out.length >= k) break;
      const item = items[i] as T;
      if (!exclude?.(item)) out.push(item);
    }
    return out;
  }
}
