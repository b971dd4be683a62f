/** Small helpers of the piece picker: per-seq counters, seq checks, a stable string order, forgetting below the playhead. */

/** Adds `by` to seq's count; a count that reaches 0 is removed. */
export function bump(map: Map<number, number>, seq: number, by: number): void {
  const n = (map.get(seq) ?? 0) + by;
  if (n <= 0) map.delete(seq);
  else map.set(seq, n);
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
