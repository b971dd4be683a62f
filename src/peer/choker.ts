/**
 * Who gets our upload slots. Tit-for-tat as in BitTorrent: the peers that
 * give us the most get regular slots, and one optimistic slot rotates every
 * optimisticIntervalMs so newcomers with nothing to give yet get a start and
 * better partners can be found. Pure: time comes in as nowMs.
 *
 * The source never downloads from us, so it never takes a slot.
 */
import { DEFAULTS } from '../core/config.js';

export interface ChokerPeer {
  key: string;
  interested: boolean;
  /** Bytes per second this peer has recently sent us. */
  downloadedFromThemRate: number;
  isSource: boolean;
}

export interface ChokerOptions {
  optimisticIntervalMs?: number;
}

export class Choker {
  private readonly optimisticIntervalMs: number;
  private optimistic: string | null = null;
  private optimisticSince = -Infinity;
  /** key → when it last held the optimistic slot; the longest-waiting goes next. */
  private readonly lastOptimistic = new Map<string, number>();
  private current = new Set<string>();

  constructor(options: ChokerOptions = {}) {
    this.optimisticIntervalMs = options.optimisticIntervalMs ?? DEFAULTS.peer.optimisticUnchokeMs;
  }

  /** The peer holding the optimistic slot after the last decide(), if any. */
  get optimisticPeer(): string | null {
    return this.optimistic;
  }

  decide(peers: readonly ChokerPeer[], slots: number, nowMs: number): Set<string> {
    const candidates = peers.filter((p) => p.interested && !p.isSource);
    const keys = new Set(candidates.map((p) => p.key));
    for (const key of this.lastOptimistic.keys()) if (!keys.has(key)) this.lastOptimistic.delete(key);

    let chosen: Set<string>;
    if (slots <= 0) {
      chosen = new Set();
      this.optimistic = null;
    } else if (candidates.length <= slots) {
      chosen = keys;
      this.optimistic = null;
    } else {
      // Ties (e.g. nobody has sent anything yet) keep whoever already has a slot, so slots don't churn.
      const ranked = [...candidates].sort(
        (a, b) =>
          b.downloadedFromThemRate - a.downloadedFromThemRate ||
          Number(this.current.has(b.key)) - Number(this.current.has(a.key)) ||
          (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
      );
      const regular = ranked.slice(0, slots - 1).map((p) => p.key);
      chosen = new Set(regular);
      const others = ranked.slice(slots - 1).map((p) => p.key);
      const keep =
        this.optimistic !== null && others.includes(this.optimistic) && nowMs - this.optimisticSince < this.optimisticIntervalMs;
      if (!keep) {
        const next = others.reduce((best, key) =>
          (this.lastOptimistic.get(key) ?? -Infinity) < (this.lastOptimistic.get(best) ?? -Infinity) ? key : best,
        );
        this.optimistic = next;
        this.optimisticSince = nowMs;
        this.lastOptimistic.set(next, nowMs);
      }
      if (this.optimistic !== null) chosen.add(this.optimistic);
    }
    this.current = chosen;
    return new Set(chosen);
  }
}
