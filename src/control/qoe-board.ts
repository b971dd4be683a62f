/**
 * The control server's QoE board: the latest client-measured report of each
 * session, as its tracker relays them over the control link (`qoe` frames),
 * kept in memory only, and the per-program aggregates made from them. A
 * report counts for a session only when it came from the tracker the session
 * joined through. Bounded: at most `maxSessions` reports; an ended session's
 * report is kept `retainMs` (the sessions list with `all` shows it), and one
 * not updated for `forgetMs` is dropped (its session went without a word).
 *
 * This is the accessor the console and /metrics read (ControlServer.qoe).
 */
import type { Clock } from '../core/clock.js';
import type { SessionRecord } from '../core/types.js';
import type { Qoe, QoeItem } from '../protocol/qoe.js';
import { iso } from './dates.js';
import { aggregateQoe } from './qoe-stats.js';
import type { ProgramStatsView, SessionQoeView } from './schemas.js';

export interface QoeBoardOptions {
  clock: Clock;
  /** The program's open sessions (ControlStore.listSessions). */
  sessions: (program: string) => Promise<SessionRecord[]>;
  /** A report at most this old counts in the aggregates (default 10 s; clients report every couple of seconds). */
  freshMs?: number;
  /** An ended session's report is kept this long (default 60 s). */
  retainMs?: number;
  /** A report not updated for this long is dropped (default 10 min). */
  forgetMs?: number;
  /** Reports kept at most (default 100,000); further sessions' reports are ignored until room is made. */
  maxSessions?: number;
  /** Viewers further behind live than this are counted in `behind_live_over` (default 5 s). */
  behindLiveThresholdS?: number;
}

export interface QoeEntry {
  qoe: Qoe;
  /** When the client reported it (the tracker's receipt, on our clock). */
  updatedAt: number;
  trackerId: string;
  endedAt: number | null;
}

const PRUNE_EVERY_MS = 1_000;

export class QoeBoard {
  private readonly entries = new Map<string, QoeEntry>();
  private lastPrune = 0;
  readonly freshMs: number;
  readonly behindLiveThresholdS: number;

  constructor(private readonly opts: QoeBoardOptions) {
    this.freshMs = opts.freshMs ?? 10_000;
    this.behindLiveThresholdS = opts.behindLiveThresholdS ?? 5;
  }

  get size(): number {
    return this.entries.size;
  }

  /** A tracker's `qoe` frame: each item replaces its session's report unless it is older. Returns how many were taken. */
  record(trackerId: string, items: QoeItem[]): number {
    const now = this.opts.clock.now();
    this.prune(now);
    let taken = 0;
    for (const item of items) {
      const updatedAt = now - item.age_ms;
      const prev = this.entries.get(item.sid);
      if (prev && prev.updatedAt > updatedAt) continue;
      if (!prev && this.entries.size >= (this.opts.maxSessions ?? 100_000)) continue;
      this.entries.set(item.sid, { qoe: item.qoe, updatedAt, trackerId, endedAt: prev?.endedAt ?? null });
      taken++;
    }
    return taken;
  }

  /** The session ended: its report is kept a while for the history, then dropped. */
  ended(sid: string): void {
    const e = this.entries.get(sid);
    if (e && e.endedAt === null) e.endedAt = this.opts.clock.now();
  }

  /** The session's latest report, if its own tracker sent it. */
  entry(session: Pick<SessionRecord, 'id' | 'trackerId'>): QoeEntry | null {
    const e = this.entries.get(session.id);
    return e && e.trackerId === session.trackerId ? e : null;
  }

  /** The `qoe` of the session's admin view; null until its first report. */
  view(session: Pick<SessionRecord, 'id' | 'trackerId'>): SessionQoeView | null {
    const e = this.entry(session);
    if (!e) return null;
    const q = e.qoe;
    return {
      continuity: q.continuity,
      stalled_s: q.stalled_s,
      startup_s: q.startup_s,
      behind_live_s: q.behind_live_s,
      down_bps: q.down_bps,
      up_bps: q.up_bps,
      from_peers_share: q.from_peers_share,
      peers: q.peers,
      updated_at: iso(e.updatedAt),
    };
  }

  /** The program's aggregates over its open viewer sessions' fresh reports. */
  async programStats(program: string): Promise<ProgramStatsView> {
    const sessions = (await this.opts.sessions(program)).filter((s) => s.role === 'viewer' && s.state !== 'ended' && s.program === program);
    const now = this.opts.clock.now();
    const fresh: Qoe[] = [];
    for (const s of sessions) {
      const e = this.entry(s);
      if (e && now - e.updatedAt <= this.freshMs) fresh.push(e.qoe);
    }
    const a = aggregateQoe(sessions.length, fresh, this.behindLiveThresholdS);
    return {
      program,
      updated_at: iso(now),
      viewers: a.viewers,
      reporting: a.reporting,
      fresh_s: this.freshMs / 1000,
      continuity_median: a.continuityMedian,
      continuity_worst: a.continuityWorst,
      startup_median_s: a.startupMedianS,
      stalled_median_s: a.stalledMedianS,
      behind_live_median_s: a.behindLiveMedianS,
      behind_live_threshold_s: this.behindLiveThresholdS,
      behind_live_over: a.behindLiveOver,
      from_peers_share: a.fromPeersShare,
      down_bps: a.downBps,
      up_bps: a.upBps,
      source_bps: a.sourceBps,
      peers_median: a.peersMedian,
    };
  }

  private prune(now: number): void {
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    const retain = this.opts.retainMs ?? 60_000;
    const forget = this.opts.forgetMs ?? 600_000;
    for (const [sid, e] of this.entries) {
      if ((e.endedAt !== null && now - e.endedAt > retain) || now - e.updatedAt > forget) this.entries.delete(sid);
    }
  }
}
