/** Small helpers of the piece picker: per-seq holder counts, seq checks, a stable string order, forgetting below the playhead. */

/** How many peers advertise a seq: all of them, and those that are not the source. */
export interface Holders {
  all: number;
  viewers: number;
}

/** Adds to seq's holder counts; the entry goes when no peer advertises it any more (one map lookup per have). */
export function countHolder(map: Map<number, Holders>, seq: number, all: number, viewers: number): void {
  const h = map.get(seq);
  if (h === undefined) {
    if (all > 0) map.set(seq, { all, viewers: Math.max(0, viewers) });
    return;
  }
  h.all += all;
  if (h.all <= 0) map.delete(seq);
  else h.viewers = Math.max(0, h.viewers + viewers);
}

export function assertSeq(seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`seq must be a non-negative integer, got ${seq}`);
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Drops the seqs below `to` from a set that holds none below `from` (nothing
 * behind the playhead is ever kept): the playhead moves a piece at a time, so
 * walking [from, to) is cheaper than walking the set, unless the jump is wider.
 */
export function forgetBelow(set: Set<number>, from: number | null, to: number, drop: (seq: number) => void): void {
  if (from !== null && to - from < set.size) {
    for (let s = from; s < to; s++) if (set.has(s)) drop(s);
    return;
  }
  for (const s of set) if (s < to) drop(s);
}
