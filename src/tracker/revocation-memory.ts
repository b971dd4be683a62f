/**
 * The revocation list in process memory. A store of its own (no hub: the
 * default of a tracker alone) keeps and delivers nothing, since nobody else
 * could hear it: the tracker's cache (revocations.ts) is the whole list, as
 * before trackers shared one. Handles on one hub are trackers of one process
 * sharing a list (tests): a revocation shared through one handle reaches
 * every handle's subscriber, in a later microtask as Redis's pub/sub would
 * deliver it, never inside the sharing call.
 */
import type { RevocationRecord, RevocationStore } from '../core/ports.js';

/** What the handles of one memory store share: the revocations, by sid, in sharing order, and who listens. */
export class MemoryRevocationHub {
  readonly records = new Map<string, RevocationRecord>();
  readonly listeners = new Set<(r: RevocationRecord) => void>();

  /** A handle for one tracker. */
  handle(): MemoryRevocationStore {
    return new MemoryRevocationStore(this);
  }

  share(r: RevocationRecord): void {
    // Forgotten once past keepUntil, judged by the newest revocation's time (the hub has no clock of its own),
    // oldest first: the walk stops at the first one still kept.
    for (const [sid, old] of this.records) {
      if (old.keepUntil > r.at) break;
      this.records.delete(sid);
    }
    this.records.delete(r.sid);
    this.records.set(r.sid, { ...r });
    for (const listener of this.listeners) queueMicrotask(() => listener({ ...r }));
  }
}

export class MemoryRevocationStore implements RevocationStore {
  private listener: ((r: RevocationRecord) => void) | null = null;

  /** `hub`: the list shared with other handles; none: this tracker's alone. */
  constructor(private readonly hub: MemoryRevocationHub | null = null) {}

  share(r: RevocationRecord): void {
    this.hub?.share(r);
  }

  async subscribe(onRevoked: (r: RevocationRecord) => void): Promise<void> {
    if (!this.hub) return;
    if (this.listener) this.hub.listeners.delete(this.listener);
    this.listener = onRevoked;
    this.hub.listeners.add(onRevoked);
    for (const r of this.hub.records.values()) onRevoked({ ...r });
  }

  status(): { reachable: boolean; backlog: number } {
    return { reachable: true, backlog: 0 };
  }

  async close(): Promise<void> {
    if (this.listener) this.hub?.listeners.delete(this.listener);
    this.listener = null;
  }
}
