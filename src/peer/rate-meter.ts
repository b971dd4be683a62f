/** Bytes per second over a sliding window of one-second buckets. Pure: time comes in as nowMs. */
export class RateMeter {
  private readonly buckets: number[];
  private bucketStart = 0;
  private idx = 0;
  total = 0;

  constructor(private readonly seconds = 5) {
    this.buckets = new Array<number>(seconds).fill(0);
  }

  add(bytes: number, nowMs: number): void {
    this.roll(nowMs);
    this.buckets[this.idx] = (this.buckets[this.idx] ?? 0) + bytes;
    this.total += bytes;
  }

  rate(nowMs: number): number {
    this.roll(nowMs);
    let sum = 0;
    for (const b of this.buckets) sum += b;
    return sum / this.seconds;
  }

  private roll(nowMs: number): void {
    const sec = Math.floor(nowMs / 1000);
    if (this.bucketStart === 0) this.bucketStart = sec;
    const steps = Math.min(this.seconds, sec - this.bucketStart);
    for (let i = 0; i < steps; i++) {
      this.idx = (this.idx + 1) % this.seconds;
      this.buckets[this.idx] = 0;
    }
    if (steps > 0) this.bucketStart = sec;
  }
}
