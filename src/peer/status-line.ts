/** The viewer's one-line status on a terminal. */

export interface StatusFields {
  peers: number;
  /** Download rate in bits per second. */
  downBps: number;
  /** Upload rate in bits per second. */
  upBps: number;
  /** Seconds of stream held ahead of the playhead. */
  bufferS: number;
  /** Share (0..1) of downloaded bytes that came from viewers rather than the source; null before any. */
  peerShare: number | null;
  /** Pieces present by their playback deadline, and pieces that were not. */
  onTime: number;
  late: number;
}

/** e.g. `peers 5 | down 2.1 Mbit/s | up 4.0 Mbit/s | buffer 1.2 s | from peers 93% | continuity 100.0%` */
export function formatStatus(f: StatusFields): string {
  const total = f.onTime + f.late;
  return [
    `peers ${f.peers}`,
    `down ${formatBitRate(f.downBps)}`,
    `up ${formatBitRate(f.upBps)}`,
    `buffer ${Math.max(0, f.bufferS).toFixed(1)} s`,
    `from peers ${f.peerShare === null ? '--' : `${Math.round(f.peerShare * 100)}%`}`,
    `continuity ${total === 0 ? '--' : `${((f.onTime / total) * 100).toFixed(1)}%`}`,
  ].join(' | ');
}

export function formatBitRate(bps: number): string {
  const v = Math.max(0, bps);
  if (v >= 1e9) return `${(v / 1e9).toFixed(1)} Gbit/s`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)} Mbit/s`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} kbit/s`;
  return `${Math.round(v)} bit/s`;
}

export interface StatusStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/** Rewrites one terminal line in place; says nothing when the stream is not a terminal (logs, pipes). */
export class StatusLine {
  private shown = false;

  constructor(private readonly stream: StatusStream) {}

  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  update(text: string): void {
    if (!this.enabled) return;
    const width = this.stream.columns;
    const line = width !== undefined && width > 1 && text.length >= width ? text.slice(0, width - 1) : text;
    this.stream.write(`\r\x1b[2K${line}`);
    this.shown = true;
  }

  /** Clears the line, so what is printed next starts clean. */
  clear(): void {
    if (!this.enabled || !this.shown) return;
    this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}
