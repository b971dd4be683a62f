/**
 * Who hears that we hold a new piece. A viewer tells every peer that may not
 * have it. The source tells a rotating first tier at once and everyone else
 * `sourceHaveDelayMs` later, unless they heard of it from a viewer first: so
 * viewers, not the source, carry a new piece through the swarm, and the load
 * of being first turns over among them.
 */
import type { Peer } from './swarm-types.js';

export interface AnnouncerDeps {
  role: 'viewer' | 'source';
  /** Source: viewers told at once. */
  tier: number;
  /** Source: the others are told this much later. */
  delayMs: number;
  /** A one-shot timer the swarm cancels when it closes. */
  later: (fn: () => void, ms: number) => void;
  isRevoked: (sid: string) => boolean;
}

export class Announcer {
  private cursor = 0;

  constructor(private readonly deps: AnnouncerDeps) {}

  /** `fromKey`: the peer it came from (it has it), or null for a piece we made. */
  announce(seq: number, fromKey: string | null, peers: Iterable<Peer>): void {
    if (this.deps.role === 'source') return this.firstTier(seq, peers);
    for (const p of peers) {
      if (p.key === fromKey || p.known.has(seq) || p.isSource || this.deps.isRevoked(p.sid)) continue;
      p.link.have(seq);
    }
  }

  private firstTier(seq: number, peers: Iterable<Peer>): void {
    const viewers = [...peers].filter((p) => !p.isSource && !this.deps.isRevoked(p.sid));
    const tier = Math.min(viewers.length, this.deps.tier);
    const first = new Set<string>();
    for (let i = 0; i < tier; i++) {
      const p = viewers[(this.cursor + i) % viewers.length];
      if (p) first.add(p.key);
    }
    this.cursor = viewers.length ? (this.cursor + tier) % viewers.length : 0;
    for (const p of viewers) if (first.has(p.key)) p.link.have(seq);
    const rest = viewers.filter((p) => !first.has(p.key));
    if (rest.length === 0) return;
    this.deps.later(() => {
      for (const p of rest) if (!p.link.closed && !p.known.has(seq)) p.link.have(seq);
    }, this.deps.delayMs);
  }
}
