/** Plain-text tables for `gatecast admin` listings. */
export function table(headers: string[], rows: string[][]): string {
  if (rows.length === 0) return '(none)\n';
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** ISO time without milliseconds, easier to read in a terminal. */
export function shortTime(iso: string | null): string {
  return iso === null ? '-' : iso.replace(/\.\d{3}Z$/, 'Z');
}
