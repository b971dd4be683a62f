/**
 * Step f, the player's side: chooses where playback starts once the live
 * edge is known, feeds the sinks in seq order, passes over holes (after
 * maxStallMs) and a restarted source's gaps, jumps forward when too far
 * behind live, judges continuity, and tells the swarm the playhead so the
 * picker's deadlines count from what the player consumes now.
 *
 * The simulator runs thousands of these in one process on a virtual clock,
 * so the swarm is a narrow structural interface, the clock and timings are
 * given, and a tick allocates nothing of its own (the callbacks it hands the
 * buffer and meter are made once).
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import type { LivePiece } from '../core/piece.js';
import { PlaybackBuffer, type SourceGapCheck } from './playback-buffer.js';
import { PlayerClock } from './player-clock.js';
import { PlayoutMeter, catchUpTarget, type LatePiece } from './playout-meter.js';
import type { PlaybackSink } from './playback-sinks.js';

/** What the driver reads of the picker: where live is, what can still come, and where it last put the playhead. */
export interface PlaybackPicker {
  readonly liveEdge: number | null;
  readonly playhead: number | null;
  availability(seq: number): number;
  isInFlight(seq: number): boolean;
  sourceFloor(): number | null;
  /** The piece at the playhead is held by no viewer we know while some hold later ones (PiecePicker.behindViewers). */
  behindViewers(): boolean;
}

/** What the driver needs of a swarm (the real Swarm meets it structurally). */
export interface PlaybackSwarm {
  readonly window: { get(seq: number): LivePiece | undefined; readonly newest: number | null };
  readonly picker: PlaybackPicker;
  setPlayhead(seq: number): void;
}

/** The start, stall and catch-up policy, in milliseconds of stream (DEFAULTS by default: playbackTimings()). */
export interface PlaybackTimings {
  startLagMs: number;
  prerollMs: number;
  minLeadMs: number;
  maxStallMs: number;
  catchUpMs: number;
  /** ...or further than this when we are behind the crowd (the viewers we know hold later pieces, not ours). */
  catchUpBehindCrowdMs: number;
  /** How often the player is fed without a piece arriving (DEFAULTS.peer.playbackTickMs). */
  tickMs: number;
}

/** DEFAULTS' playback timings, with any given ones in their place. */
export function playbackTimings(over: Partial<PlaybackTimings> = {}): PlaybackTimings {
  return {
    startLagMs: over.startLagMs ?? DEFAULTS.startLagMs,
    prerollMs: over.prerollMs ?? DEFAULTS.prerollMs,
    minLeadMs: over.minLeadMs ?? DEFAULTS.minLeadMs,
    maxStallMs: over.maxStallMs ?? DEFAULTS.maxStallMs,
    catchUpMs: over.catchUpMs ?? DEFAULTS.catchUpMs,
    catchUpBehindCrowdMs: over.catchUpBehindCrowdMs ?? DEFAULTS.catchUpBehindCrowdMs,
    tickMs: over.tickMs ?? DEFAULTS.peer.playbackTickMs,
  };
}

export interface PlaybackDriverOptions {
  swarm: PlaybackSwarm;
  clock: Clock;
  /** Milliseconds of stream per piece from the metadata, until the player clock has measured it. */
  nominalIntervalMs: number;
  timings: PlaybackTimings;
  sinks?: readonly PlaybackSink[];
  /** Called once, when the first bytes go to the player. */
  onPlaying?: () => void;
  log?: (line: string) => void;
}

/** The playback half of ViewerStats. */
export interface PlaybackStats {
  /** Seconds of stream held ahead of the player. */
  bufferS: number;
  /** Pieces written to the player, and pieces output skipped (they never play). */
  played: number;
  missed: number;
  /** Seqs passed over where the source restarted (never made, or lost with it): not stream, not missed. */
  gapped: number;
  /** The last such gap, [from, to): `to` is the first seq after it. */
  lastGap: { from: number; to: number } | null;
  /** Pieces present by their playback deadline, and pieces that were not (the player stalled or skipped them). */
  onTime: number;
  late: number;
  /** onTime ÷ (onTime + late); 1 before any piece was due. */
  continuity: number;
  /** Milliseconds the player waited for late pieces. */
  stalledMs: number;
  /** How far the player is behind the source (its start lag plus every stall); null before playback. */
  behindLiveMs: number | null;
  /** The last few late pieces: when each was due and when it came (null: skipped). */
  recentLate: LatePiece[];
  firstByteAt: number | null;
  /** Piece created at the source → written to the player, ms, for recent pieces. */
  latencyMs: number[];
}

/** Source-to-player latencies kept; when full, the older half goes. */
const LATENCIES_KEPT = 2_000;

export class PlaybackDriver {
  readonly playerClock: PlayerClock;
  private readonly playout: PlayoutMeter;
  private buffer: PlaybackBuffer | null = null;
  private timer: TimerHandle | null = null;
  private stopped = false;
  /** The first piece the player got. */
  private firstSeq: number | null = null;
  private readonly latencies: number[] = [];
  /** The picker's source floor, read once per tick for `obtainable`. */
  private floor: number | null = null;
  private readonly gap: SourceGapCheck;
  private readonly skipped = (seq: number): boolean => this.buffer?.skipped(seq) ?? false;
  private readonly inGap = (seq: number): boolean => this.buffer?.inGap(seq) ?? false;

  constructor(private readonly opts: PlaybackDriverOptions) {
    this.playerClock = new PlayerClock(opts.nominalIntervalMs);
    this.playout = new PlayoutMeter(this.playerClock);
    const clock = this.playerClock;
    const picker = opts.swarm.picker;
    // A hole is still coming when a peer advertises it or a connected source made it (its have may lag a second).
    const obtainable = (seq: number): boolean =>
      picker.availability(seq) > 0 || picker.isInFlight(seq) || (this.floor !== null && seq >= this.floor);
    this.gap = {
      get intervalMs() {
        return clock.intervalMs;
      },
      obtainable,
    };
  }

  /** Milliseconds of stream per piece, as measured (the swarm's deadlines follow it). */
  get intervalMs(): number {
    return this.playerClock.intervalMs;
  }

  /** When the first bytes went to the player (the clock's time), or null. */
  get firstByteAt(): number | null {
    return this.buffer?.firstByteAt ?? null;
  }

  get continuity(): number {
    return this.playout.continuity;
  }

  /** Source-to-player latency (ms) of recent pieces, oldest first; read-only view, no copy. */
  get recentLatencies(): readonly number[] {
    return this.latencies;
  }

  /**
   * Feeds the player every tickMs from now on (pieces arriving feed it too). Optional: a host running many
   * drivers may instead call tick() on each from one shared timer of the same period.
   */
  start(): void {
    if (this.stopped || this.timer) return;
    this.timer = this.opts.clock.setInterval(() => this.tick(), this.opts.timings.tickMs);
  }

  /** No more ticks, and pieces that arrive are ignored. */
  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
  }

  /** A verified piece came from the swarm: timed for continuity, buffered, and the player fed. */
  arrived(piece: LivePiece): void {
    if (this.stopped) return;
    this.playerClock.observe(piece.seq, piece.timestampMs);
    this.playout.arrived(piece.seq, this.opts.clock.now());
    this.buffer?.offer(piece);
    this.tick();
  }

  /** Picks where to start once the live edge is known, then feeds the player in order. */
  tick(): void {
    if (this.stopped) return;
    const buffer = this.buffer ?? this.begin();
    if (!buffer) return;
    const { swarm, clock, timings } = this.opts;
    const picker = swarm.picker;
    const now = clock.now();
    const wasPlaying = buffer.firstByteAt !== null;
    const gapped = buffer.gapped;
    this.floor = picker.sourceFloor();
    const segments = buffer.drain(now, timings.maxStallMs, picker.liveEdge, this.gap);
    // A source restart's gap is no stream: the player goes on at the next piece at once.
    if (buffer.gapped > gapped) this.playerClock.skipped((buffer.gapped - gapped) * this.playerClock.intervalMs);
    for (const seg of segments) this.output(seg.seq, seg.bytes, seg.rapOffset, now);
    this.maybeCatchUp(buffer);
    if (this.firstSeq !== null) this.playout.update(now, this.firstSeq, this.skipped, this.inGap);
    // Deadlines count from what the player consumes now, not from what we wrote last.
    const next = buffer.next;
    const consuming = this.playerClock.playhead(now);
    const playhead = next === null ? consuming : consuming === null ? next : Math.min(next, consuming);
    if (playhead !== null && playhead > (picker.playhead ?? -1)) swarm.setPlayhead(playhead);
    if (!wasPlaying && buffer.firstByteAt !== null) this.opts.onPlaying?.();
  }

  stats(): PlaybackStats {
    const b = this.buffer;
    return {
      bufferS: b ? (b.buffered * this.playerClock.intervalMs) / 1000 : 0,
      played: b?.played ?? 0,
      missed: b?.missed ?? 0,
      gapped: b?.gapped ?? 0,
      lastGap: b?.lastGap ?? null,
      onTime: this.playout.onTime,
      late: this.playout.late,
      continuity: this.playout.continuity,
      stalledMs: this.playout.stalledMs,
      behindLiveMs: this.playerClock.behindMs,
      recentLate: this.playout.recentLate.map((l) => ({ ...l })),
      firstByteAt: b?.firstByteAt ?? null,
      latencyMs: [...this.latencies],
    };
  }

  /**
   * The start: startLagMs behind the live edge, output from the first random
   * access point at or after it once minLead and preroll allow (PlaybackBuffer);
   * whatever the window already holds from there is offered at once.
   */
  private begin(): PlaybackBuffer | null {
    const { swarm, timings } = this.opts;
    const edge = swarm.picker.liveEdge;
    if (edge === null) return null;
    const interval = this.playerClock.intervalMs;
    const start = Math.max(0, edge - Math.round(timings.startLagMs / interval));
    const buffer = new PlaybackBuffer({
      startSeq: start,
      preroll: Math.round(timings.prerollMs / interval),
      minLead: Math.round(timings.minLeadMs / interval),
    });
    this.buffer = buffer;
    swarm.setPlayhead(start);
    for (let s = start; s <= edge; s++) {
      const p = swarm.window.get(s);
      if (p) buffer.offer(p);
    }
    return buffer;
  }

  private output(seq: number, bytes: Buffer, rapOffset: number | null, now: number): void {
    const ts = this.opts.swarm.window.get(seq)?.timestampMs;
    if (ts !== undefined) {
      this.playerClock.started(ts, now);
      this.latencies.push(now - ts);
      if (this.latencies.length > LATENCIES_KEPT) this.latencies.splice(0, LATENCIES_KEPT / 2);
    }
    this.firstSeq ??= seq;
    for (const sink of this.opts.sinks ?? []) sink.writeSegment(bytes, rapOffset);
  }

  /**
   * Live TV stays live: a player that stalls its way further than catchUpMs
   * behind jumps back to the start lag (at the next random access point), as
   * a live player seeks to its sync point. The pieces jumped over count as
   * late. Not while output waits at the live edge (nothing held past the
   * playhead) or at a source restart's gap: that wait is no lag to skip.
   *
   * A player behind the crowd (no viewer it knows holds its next piece, some
   * hold later ones) jumps sooner, at catchUpBehindCrowdMs: only the source
   * can feed it where it is, slower than the stream plays, so it would slide
   * on to catchUpMs (a quarter of a minute stalled, in the flash crowd's
   * tail). Only such players jump, so the crowd does not jump together.
   */
  private maybeCatchUp(buffer: PlaybackBuffer): void {
    const { swarm, timings } = this.opts;
    const behind = this.playerClock.behindMs;
    const next = buffer.next;
    const edge = swarm.picker.liveEdge;
    // The cheap tests first: behindViewers scans ahead of the playhead, sourceGapEnd walks the buffer.
    if (behind === null || next === null || edge === null || behind <= Math.min(timings.catchUpMs, timings.catchUpBehindCrowdMs)) return;
    const early = behind <= timings.catchUpMs;
    if (early && !swarm.picker.behindViewers()) return;
    const held = swarm.window.newest;
    if (held === null || (held < next && !early) || buffer.sourceGapEnd(this.gap) !== null) return;
    const interval = this.playerClock.intervalMs;
    const limit = early ? timings.catchUpBehindCrowdMs : timings.catchUpMs;
    const target = catchUpTarget({ behindMs: behind, edge, next, intervalMs: interval, catchUpMs: limit, startLagMs: timings.startLagMs });
    if (target === null) return;
    this.opts.log?.(`${(behind / 1000).toFixed(1)} s behind live: skipping ${target - next} pieces to catch up`);
    buffer.skipTo(target);
    this.playerClock.skipped((target - next) * interval);
    swarm.setPlayhead(target);
  }
}
