/** Small statistics for bench figures. */

/** Nearest-rank percentile (p in 0..100) of the values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** The median, rounded to 3 decimals; null for none. */
export function median(values: readonly number[]): number | null {
  return round(percentile(values, 50));
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

export function min(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let m = Infinity;
  for (const v of values) if (v < m) m = v;
  return m;
}

export function max(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let m = -Infinity;
  for (const v of values) if (v > m) m = v;
  return m;
}

/** Rounds to `digits` decimals; NaN becomes null so JSON stays valid. */
export function round(v: number, digits = 3): number | null {
  if (!Number.isFinite(v)) return null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
