/**
 * Who gets our upload slots. Tit-for-tat as in BitTorrent: the peers that
 * give us the most get regular slots, and one optimistic slot rotates every
 * optimisticIntervalMs so newcomers with nothing to give yet get a start and
 * better partners can be found. Pure: time comes in as nowMs, chance from
 * the `random` it is given.
 *
 * Ties (peers that sent us nothing yet: every newcomer) are broken by a rank
 * each choker draws at random for each peer when it first sees it, not by
 * the peers' ids: with one order everywhere, the same newcomer would come
 * last at every peer it dialed, for regular and optimistic slots alike, and
 * could wait many rounds for a first byte while the others play.
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
  /** Uniform in [0, 1): Math.random, or the simulator's seeded generator. */
  random?: () => number;
}

export class Choker {
  private readonly optimisticIntervalMs: number;
  private optimistic: string | null = null;
  private optimisticSince = -Infinity;
  /** key → when it last held the optimistic slot; the longest-waiting goes next. */
  private readonly lastOptimistic = new Map<string, number>();
  private current = new Set<string>();
  /** key → its tie-break rank, drawn once. */
  private readonly rank = new Map<string, number>();
  private readonly random: () => number;

  constructor(options: ChokerOptions = {}) {
    this.optimisticIntervalMs = options.optimisticIntervalMs ?? DEFAULTS.peer.optimisticUnchokeMs;
    this.random = options.random ?? Math.random;
  }

  /** The peer holding the optimistic slot after the last decide(), if any. */
  get optimisticPeer(): string | null {
    return this.optimistic;
  }

  decide(peers: readonly ChokerPeer[], slots: number, nowMs: number): Set<string> {
    const candidates = peers.filter((p) => p.interested && !p.isSource);
    const keys = new Set(candidates.map((p) => p.key));
    for (const key of this.lastOptimistic.keys()) if (!keys.has(key)) this.lastOptimistic.delete(key);
    for (const key of this.rank.keys()) if (!keys.has(key)) this.rank.delete(key);
    for (const key of keys) if (!this.rank.has(key)) this.rank.set(key, this.random());
    const rank = (key: string): number => this.rank.get(key) ?? 0;

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
          rank(a.key) - rank(b.key),
      );
      const regular = ranked.slice(0, slots - 1).map((p) => p.key);
      chosen = new Set(regular);
      const others = ranked.slice(slots - 1).map((p) => p.key);
      const keep =
        this.optimistic !== null && others.includes(this.optimistic) && nowMs - this.optimisticSince < this.optimisticIntervalMs;
      if (!keep) {
        // The longest waiting (never served first); among equals, the lowest rank.
        const waited = (key: string): number => this.lastOptimistic.get(key) ?? -Infinity;
        const next = others.reduce((best, key) => (waited(key) < waited(best) || (waited(key) === waited(best) && rank(key) < rank(best)) ? key : best));
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
