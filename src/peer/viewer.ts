/**
 * A viewer, steps a–f end to end: program request to the control server,
 * metadata parsed, tracker channel opened with the token, peers dialled over
 * the BitTorrent wire, live pieces verified and played in order. Also the
 * receiving end of the disconnect chain (step C).
 */
import { EventEmitter } from 'node:events';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Clock, TimerHandle } from '../core/clock.js';
import { ClientError } from '../core/errors.js';
import { DEFAULTS } from '../core/config.js';
import { pieceIntervalMs, rawPublicKey } from '../core/piece.js';
import type { ClientTrust } from '../core/ports.js';
import type { AdmissionResult } from '../core/types.js';
import { requestProgram, type DeviceCredential } from '../protocol/control-api.js';
import { systemClock } from '../protocol/system-clock.js';
import type { ControlSession } from './control-session.js';
import type { TrackerClient } from './tracker-client.js';
import type { Swarm } from './swarm.js';
import { joinSwarm } from './join-swarm.js';
import { PlaybackBuffer } from './playback-buffer.js';
import { PlayerClock } from './player-clock.js';
import { PlayoutMeter, catchUpTarget, type LatePiece } from './playout-meter.js';
import type { PlaybackSink } from './playback-sinks.js';
import { QoeReporter } from './qoe-report.js';

export interface ViewerOptions {
  controlUrl: string;
  program: string;
  user: string;
  /** The user's password, or (instead) `device`: a device credential from `gatecast login`. */
  password?: string;
  device?: DeviceCredential;
  clock?: Clock;
  /** Address peers reach us on (the listen address). */
  host?: string;
  peerPort?: number;
  /** Upload cap, bytes per second; null for none. */
  uploadRate?: number | null;
  maxPeers?: number;
  uploadSlots?: number;
  sinks?: PlaybackSink[];
  /** How far behind the live edge playback looks for its first random access point (DEFAULTS.startLagMs). */
  startLagMs?: number;
  /** Output starts once this much stream from the first random access point is held (DEFAULTS.prerollMs)... */
  prerollMs?: number;
  /**
   * ...and only at a random access point at least this far behind the live
   * edge (DEFAULTS.minLeadMs), so every player starts with about the same buffer.
   */
  minLeadMs?: number;
  /**
   * A player this far behind live (start lag plus stalls) jumps forward to
   * the start lag again, skipping what lies between. DEFAULTS.catchUpMs
   * (10 s): a safety net after a long outage, not a routine move. At 4 s, a flash crowd made
   * many viewers jump together, all wanting the freshest, rarest pieces at
   * once, and continuity fell from 0.94 to 0.68.
   */
  catchUpMs?: number;
  /** A hole older than this is skipped (to the next random access point). */
  maxStallMs?: number;
  log?: (line: string) => void;
  /** Which control server and tracker certificates to trust; Node's defaults when absent. */
  trust?: ClientTrust;
}

export type ViewerEnd =
  | { kind: 'kicked'; reason: string }
  | { kind: 'session_ended'; reason: string }
  | { kind: 'stopped'; reason: string };

export interface ViewerEvents {
  ended: [ViewerEnd];
  /** Bytes written to the player for the first time. */
  playing: [];
}

export interface ViewerStats {
  session: string;
  peers: number;
  downBps: number;
  upBps: number;
  bufferS: number;
  bytesFromSource: number;
  bytesFromPeers: number;
  uploaded: number;
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
  startedAt: number;
  /** When the control server admitted us, and when the tracker listed us (startup's first two steps). */
  admittedAt: number;
  listedAt: number | null;
  firstByteAt: number | null;
  /** Piece created at the source → written to the player, ms, for recent pieces. */
  latencyMs: number[];
}

export class Viewer extends EventEmitter<ViewerEvents> {
  private buffer: PlaybackBuffer | null = null;
  private tick: TimerHandle | null = null;
  private reannounce: TimerHandle | null = null;
  private reconnectTimer: TimerHandle | null = null;
  private ended = false;
  private listedAt: number | null = null;
  private readonly latencies: number[] = [];
  readonly playerClock: PlayerClock;
  private readonly playout: PlayoutMeter;
  /** The first piece the player got. */
  private firstSeq: number | null = null;

  private constructor(
    readonly admission: AdmissionResult,
    readonly swarm: Swarm,
    readonly tracker: TrackerClient,
    readonly session: ControlSession,
    private readonly opts: ViewerOptions & { clock: Clock },
    readonly startedAt: number,
    private readonly admittedAt: number,
  ) {
    super();
    this.playerClock = new PlayerClock(pieceIntervalMs(admission.metadata));
    this.playout = new PlayoutMeter(this.playerClock);
  }

  /** Steps a–f. Throws ClientError when the control server or the tracker refuses. */
  static async start(options: ViewerOptions): Promise<Viewer> {
    const opts = { ...options, clock: options.clock ?? systemClock };
    const startedAt = opts.clock.now();
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    // a–b: program request; a refusal throws the control server's ClientError.
    const admission = await requestProgram(opts.controlUrl, {
      program: opts.program,
      user: opts.user,
      password: opts.password,
      device: opts.device,
      clientKey: rawPublicKey(publicKey),
    }, opts.trust);
    const admittedAt = opts.clock.now();
    // c: what the metadata tells us to join the swarm. Deadlines follow the player's
    // measured piece interval once it plays.
    let playerClock: PlayerClock | null = null;
    const { session, swarm, tracker } = await joinSwarm({
      controlUrl: opts.controlUrl,
      trust: opts.trust,
      admission,
      clientKey: privateKey,
      role: 'viewer',
      peerId: peerId(),
      clock: opts.clock,
      host: opts.host ?? '127.0.0.1',
      peerPort: opts.peerPort ?? 0,
      pieceIntervalMs: () => playerClock?.intervalMs ?? pieceIntervalMs(admission.metadata),
      swarm: {
        maxPeers: opts.maxPeers ?? DEFAULTS.maxPeers,
        uploadSlots: opts.uploadSlots ?? DEFAULTS.uploadSlots,
        uploadRate: opts.uploadRate ?? null,
        log: opts.log,
      },
    });
    const viewer = new Viewer(admission, swarm, tracker, session, opts, startedAt, admittedAt);
    playerClock = viewer.playerClock;
    try {
      // c–d: the tracker checks the token, lists us, and hands back part of the swarm.
      const peers = await tracker.start();
      viewer.listedAt = opts.clock.now();
      // e: dial them.
      swarm.connect(peers);
    } catch (err) {
      await swarm.close();
      tracker.close();
      throw err;
    }
    viewer.wire();
    session.start();
    return viewer;
  }

  get sid(): string {
    return this.admission.session;
  }

  stats(): ViewerStats {
    const now = this.opts.clock.now();
    const b = this.buffer;
    return {
      session: this.sid,
      peers: this.swarm.peerCount,
      downBps: this.swarm.downMeter.rate(now) * 8,
      upBps: this.swarm.upMeter.rate(now) * 8,
      bufferS: b ? (b.buffered * this.playerClock.intervalMs) / 1000 : 0,
      bytesFromSource: this.swarm.bytesFromSource,
      bytesFromPeers: this.swarm.bytesFromPeers,
      uploaded: this.swarm.uploaded,
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
      startedAt: this.startedAt,
      admittedAt: this.admittedAt,
      listedAt: this.listedAt,
      firstByteAt: b?.firstByteAt ?? null,
      latencyMs: [...this.latencies],
    };
  }

  /** Leaves on our own (Ctrl-C): peers are told, the tracker gets `stopped`. */
  async stop(reason = 'viewer stopped'): Promise<void> {
    await this.finish({ kind: 'stopped', reason }, undefined);
  }

  private wire(): void {
    const { swarm, tracker, session, opts } = this;
    swarm.on('piece', (piece) => {
      this.playerClock.observe(piece.seq, piece.timestampMs);
      this.playout.arrived(piece.seq, opts.clock.now());
      this.buffer?.offer(piece);
      this.drain();
    });
    tracker.on('peers', (peers) => swarm.connect(peers));
    // Every heartbeat carries our QoE figures, which the tracker relays to the control server.
    const qoe = new QoeReporter();
    tracker.setQoe(() => qoe.report(this.stats(), opts.clock.now()));
    tracker.on('revoked', ({ sid }) => swarm.revoke(sid));
    // Step C: tell peers, answer the tracker, stop heartbeats, exit.
    tracker.on('disconnect', ({ id, reason }) => this.end({ kind: 'kicked', reason }, id));
    tracker.on('warning', (err) => opts.log?.(`tracker: ${err.message}`));
    tracker.on('lost', (err) => {
      opts.log?.(`tracker channel lost (${err.message}); reconnecting`);
      this.scheduleReconnect(1_000);
    });
    session.on('ended', (err) => this.end({ kind: 'session_ended', reason: err.message }, undefined));
    session.on('warning', (err) => opts.log?.(`token renewal failed, retrying: ${err.message}`));
    this.tick = opts.clock.setInterval(() => this.drain(), 50);
    this.reannounce = opts.clock.setInterval(() => {
      if (this.swarm.peerCount < (opts.maxPeers ?? DEFAULTS.maxPeers) / 2 && tracker.connected) {
        tracker.announce().catch((err: unknown) => opts.log?.(`re-announce failed: ${String(err)}`));
      }
    }, 3_000);
  }

  /** One reconnect loop at a time, however many times the channel is reported lost. */
  private scheduleReconnect(ms: number): void {
    if (this.ended || this.reconnectTimer) return;
    this.reconnectTimer = this.opts.clock.setTimeout(() => {
      this.reconnectTimer = null;
      void this.reconnect();
    }, ms);
  }

  private async reconnect(): Promise<void> {
    if (this.ended) return;
    try {
      const peers = await this.tracker.start();
      if (!this.ended) this.swarm.connect(peers);
    } catch (err) {
      if (err instanceof ClientError) {
        this.end({ kind: 'session_ended', reason: err.message }, undefined);
        return;
      }
      this.scheduleReconnect(2_000);
    }
  }

  private end(end: ViewerEnd, disconnectId: string | undefined): void {
    this.finish(end, disconnectId).catch((err: unknown) => this.opts.log?.(`while ending: ${String(err)}`));
  }

  /** Picks where to start once the live edge is known, then feeds the player in order. */
  private drain(): void {
    if (this.ended) return;
    const picker = this.swarm.picker;
    if (!this.buffer) {
      const edge = picker.liveEdge;
      if (edge === null) return;
      const lag = Math.round((this.opts.startLagMs ?? DEFAULTS.startLagMs) / this.playerClock.intervalMs);
      const start = Math.max(0, edge - lag);
      const preroll = Math.round((this.opts.prerollMs ?? DEFAULTS.prerollMs) / this.playerClock.intervalMs);
      const minLead = Math.round((this.opts.minLeadMs ?? DEFAULTS.minLeadMs) / this.playerClock.intervalMs);
      this.buffer = new PlaybackBuffer({ startSeq: start, preroll, minLead });
      this.swarm.setPlayhead(start);
      for (let s = start; s <= edge; s++) {
        const p = this.swarm.window.get(s);
        if (p) this.buffer.offer(p);
      }
    }
    const now = this.opts.clock.now();
    const wasPlaying = this.buffer.firstByteAt !== null;
    const gapped = this.buffer.gapped;
    // A hole is still coming when a peer advertises it or a connected source made it (its have may lag a second).
    const floor = picker.sourceFloor();
    const obtainable = (seq: number): boolean => picker.availability(seq) > 0 || picker.isInFlight(seq) || (floor !== null && seq >= floor);
    const gap = { intervalMs: this.playerClock.intervalMs, obtainable };
    const segments = this.buffer.drain(now, this.opts.maxStallMs ?? DEFAULTS.maxStallMs, picker.liveEdge, gap);
    // A source restart's gap is no stream: the player goes on at the next piece at once.
    if (this.buffer.gapped > gapped) this.playerClock.skipped((this.buffer.gapped - gapped) * this.playerClock.intervalMs);
    for (const seg of segments) {
      const ts = this.swarm.window.get(seg.seq)?.timestampMs;
      if (ts !== undefined) {
        this.playerClock.started(ts, now);
        this.latencies.push(now - ts);
        if (this.latencies.length > 2_000) this.latencies.splice(0, 1_000);
      }
      this.firstSeq ??= seg.seq;
      for (const sink of this.opts.sinks ?? []) sink.writeSegment(seg.bytes, seg.rapOffset);
    }
    // Not while output waits at the live edge or at a source restart's gap: that wait is no lag to skip.
    const held = this.swarm.window.newest;
    if (held !== null && held >= (this.buffer.next ?? Infinity) && this.buffer.sourceGapEnd(gap) === null) this.catchUp(picker.liveEdge);
    const buffer = this.buffer;
    if (this.firstSeq !== null) this.playout.update(now, this.firstSeq, (seq) => buffer.skipped(seq), (seq) => buffer.inGap(seq));
    // Deadlines count from what the player consumes now, not from what we wrote last.
    const next = this.buffer.next;
    const consuming = this.playerClock.playhead(now);
    const playhead = next === null ? consuming : consuming === null ? next : Math.min(next, consuming);
    if (playhead !== null && playhead > (picker.playhead ?? -1)) this.swarm.setPlayhead(playhead);
    if (!wasPlaying && this.buffer.firstByteAt !== null) this.emit('playing');
  }

  /**
   * Live TV stays live: a player that stalls its way too far behind jumps
   * back to the start lag (at the next random access point), as a live
   * player seeks to its sync point. The pieces jumped over count as late.
   */
  private catchUp(edge: number | null): void {
    const behind = this.playerClock.behindMs;
    const next = this.buffer?.next ?? null;
    if (!this.buffer || behind === null || edge === null || next === null) return;
    const interval = this.playerClock.intervalMs;
    const target = catchUpTarget({
      behindMs: behind,
      edge,
      next,
      intervalMs: interval,
      catchUpMs: this.opts.catchUpMs ?? DEFAULTS.catchUpMs,
      startLagMs: this.opts.startLagMs ?? DEFAULTS.startLagMs,
    });
    if (target === null) return;
    this.opts.log?.(`${(behind / 1000).toFixed(1)} s behind live: skipping ${target - next} pieces to catch up`);
    this.buffer.skipTo(target);
    this.playerClock.skipped((target - next) * interval);
    this.swarm.setPlayhead(target);
  }

  private async finish(end: ViewerEnd, disconnectId: string | undefined): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.reconnectTimer?.cancel();
    this.reconnectTimer = null;
    this.tick?.cancel();
    this.reannounce?.cancel();
    this.session.stop();
    this.swarm.leaveAll(end.reason);
    await this.tracker.stopped(disconnectId);
    await this.swarm.close();
    this.emit('ended', end);
  }
}

function peerId(): Buffer {
  // Azureus-style client prefix, then random bytes (BEP 20).
  return Buffer.concat([Buffer.from('-GC0001-'), randomBytes(12)]);
}
