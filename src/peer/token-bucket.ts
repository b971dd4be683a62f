/**
 * Upload and download caps. A token bucket refilled at `rate` bytes per
 * second up to `burst` bytes, starting full; pure (callers pass nowMs). Over
 * any span T it lets through at most rate × T + burst bytes, plus one
 * message at most when a single message is larger than the burst (it may go
 * through on a full bucket, leaving a debt that later refills pay off).
 */
import { ClientError } from '../core/errors.js';

export class TokenBucket {
  readonly rate: number | null;
  readonly burst: number;
  private tokens: number;
  private lastMs: number | null = null;

  /**
   * rateBytesPerS null means unlimited. The default burst is half a second
   * of rate, and never below 64 KiB so a whole piece (~33 KB) always fits.
   */
  constructor(rateBytesPerS: number | null, burstBytes?: number) {
    if (rateBytesPerS !== null && (!Number.isFinite(rateBytesPerS) || rateBytesPerS <= 0)) {
      throw new RangeError(`rate must be a positive number of bytes per second or null for unlimited, got ${rateBytesPerS}`);
    }
    if (burstBytes !== undefined && (!Number.isFinite(burstBytes) || burstBytes <= 0)) {
      throw new RangeError(`burst must be a positive number of bytes, got ${burstBytes}`);
    }
    this.rate = rateBytesPerS;
    this.burst = burstBytes ?? (rateBytesPerS === null ? Infinity : Math.max(rateBytesPerS / 2, 65_536));
    this.tokens = this.burst;
  }

  /** Takes the bytes if allowed now; false leaves the bucket untouched. */
  take(bytes: number, nowMs: number): boolean {
    if (this.rate === null) return true;
    this.refill(nowMs);
    if (this.tokens < this.needed(bytes)) return false;
    this.tokens -= bytes;
    return true;
  }

  /** How long until take(bytes) would succeed; 0 when it would now. */
  waitMs(bytes: number, nowMs: number): number {
    if (this.rate === null) return 0;
    this.refill(nowMs);
    const missing = this.needed(bytes) - this.tokens;
    return missing <= 0 ? 0 : Math.ceil((missing / this.rate) * 1000);
  }

  private needed(bytes: number): number {
    return Math.min(bytes, this.burst);
  }

  private refill(nowMs: number): void {
    if (this.rate === null) return;
    if (this.lastMs !== null && nowMs > this.lastMs) {
      this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.lastMs) * this.rate) / 1000);
    }
    if (this.lastMs === null || nowMs > this.lastMs) this.lastMs = nowMs;
  }
}

const UNLIMITED = new Set(['0', 'unlimited', 'none', 'off']);
const PREFIX: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, ki: 1024, mi: 1024 ** 2, gi: 1024 ** 3 };

/**
 * Parses a rate as given on the command line or in config; returns bytes per
 * second, or null for unlimited ("0", "unlimited", "none", "off").
 *
 * - A plain number is bytes per second: "250000".
 * - A prefix k/m/g (either case) multiplies by 1000s; ki/mi/gi by 1024s.
 * - "bit", "bits", "bps" or a lowercase "b" after the prefix mean bits; an
 *   uppercase "B" (or "byte"/"bytes") means bytes: "2mbit", "2Mbps", "2Mb",
 *   "250KB", "1MiB".
 * - A prefix with no unit means bits, the way stream and link rates are
 *   quoted: "2M" is a 2 Mbit/s stream (250,000 bytes/s), "500k" is 500 kbit/s.
 * - An optional "/s" or "ps" may follow: "250KB/s", "2Mbit/s".
 */
export function parseRate(text: string): number | null {
  const t = text.trim();
  if (UNLIMITED.has(t.toLowerCase())) return null;
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgG]i?)?\s*(bits?|bps|b|B|bytes?|Bps)?(\/s|ps)?$/.exec(t);
  if (!m) {
    throw new ClientError(
      'invalid_request',
      `cannot read rate "${text}": use e.g. "2M" or "2mbit" (bits/s), "250KB/s" (bytes/s), a plain number of bytes/s, or "unlimited"`,
    );
  }
  const value = Number(m[1]);
  const prefix = (m[2] ?? '').toLowerCase();
  const unit = m[3];
  if (m[4] === 'ps' && unit !== undefined && unit !== 'b' && unit !== 'B') {
    throw new ClientError('invalid_request', `cannot read rate "${text}": "ps" follows only b or B`);
  }
  const multiplier = PREFIX[prefix] ?? 1;
  let bits: boolean;
  if (unit === undefined) bits = prefix !== '';
  else bits = unit === 'b' || unit === 'bps' || unit.startsWith('bit');
  const bytesPerS = (value * multiplier) / (bits ? 8 : 1);
  if (bytesPerS === 0) return null;
  return bytesPerS;
}
