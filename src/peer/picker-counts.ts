/** Small helpers of the piece picker: per-seq counters, seq checks, a stable string order. */

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
