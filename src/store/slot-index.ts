/**
 * sid → slot for one compact swarm: an open-addressing hash table (linear
 * probing, backward-shift deletion) in an Int32Array, 8–16 bytes per peer
 * where a Map<string, number> costs 28–56. The keys themselves are not
 * stored: the table holds slot numbers and reads each slot's sid from the
 * swarm (`keyAt`), which keeps the string anyway.
 *
 * Sids are random strings the control server makes, so a simple FNV-1a hash
 * spreads them well; nobody can pick a sid to aim collisions.
 */

const MIN_SIZE = 16;

function hash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class SlotIndex {
  /** slot + 1 per bucket; 0 is empty. */
  private table = new Int32Array(MIN_SIZE);
  private mask = MIN_SIZE - 1;
  private count = 0;

  constructor(private readonly keyAt: (slot: number) => string) {}

  get size(): number {
    return this.count;
  }

  get(key: string): number | undefined {
    const at = this.find(key);
    return at < 0 ? undefined : (this.table[at] as number) - 1;
  }

  /** Adds the key, or points it at another slot. */
  set(key: string, slot: number): void {
    const at = this.find(key);
    if (at >= 0) {
      this.table[at] = slot + 1;
      return;
    }
    if ((this.count + 1) * 2 > this.table.length) this.rehash(this.table.length * 2);
    this.place(key, slot + 1);
    this.count++;
  }

  delete(key: string): boolean {
    let hole = this.find(key);
    if (hole < 0) return false;
    const { table, mask } = this;
    table[hole] = 0;
    this.count--;
    // Backward shift: pull up every later entry of the run whose home is not in (hole, j].
    for (let j = (hole + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const home = hash(this.keyAt((table[j] as number) - 1)) & mask;
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (stays) continue;
      table[hole] = table[j] as number;
      table[j] = 0;
      hole = j;
    }
    if (this.table.length > MIN_SIZE && this.count * 8 < this.table.length) this.rehash(this.table.length / 2);
    return true;
  }

  /** The bucket holding `key`, or -1. */
  private find(key: string): number {
    const { table, mask } = this;
    for (let i = hash(key) & mask; ; i = (i + 1) & mask) {
      const v = table[i] as number;
      if (v === 0) return -1;
      if (this.keyAt(v - 1) === key) return i;
    }
  }

  private place(key: string, value: number): void {
    const { table, mask } = this;
    let i = hash(key) & mask;
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = value;
  }

  private rehash(size: number): void {
    const old = this.table;
    this.table = new Int32Array(size);
    this.mask = size - 1;
    for (const v of old) if (v !== 0) this.place(this.keyAt(v - 1), v);
  }
}
