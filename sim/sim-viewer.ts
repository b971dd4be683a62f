/**
 * One simulated viewer: the real Swarm (picker, choker, uploader, window)
 * over the in-memory transport, and the real playback path (PlaybackDriver:
 * start point, buffer, player clock, playout meter, catch-up), wired as
 * Viewer wires them. What the simulation leaves out is the control server
 * and tracker's own work: admission and the announce are a modelled delay
 * and a TrackerModel sample. The client lifecycle's re-announce rule is
 * kept: fewer than half of maxPeers connected → ask the tracker again every
 * DEFAULTS.peer.reannounceMs.
 */
import type { TimerHandle } from '../src/core/clock.js';
import { DEFAULTS } from '../src/core/config.js';
import { Swarm } from '../src/peer/swarm.js';
import { PlaybackDriver, playbackTimings, type PlaybackTimings } from '../src/peer/playback-driver.js';
import type { PeerSettings } from '../src/peer/swarm-types.js';
import type { MemoryNetwork } from '../src/peer/memory-transport.js';
import type { PieceCheck } from '../src/peer/piece-check.js';
import type { ChannelPeer } from '../src/protocol/tracker-channel.js';
import type { ViewerReport } from '../bench/lib/ipc.js';
import type { EventClock } from './event-clock.js';
import type { TrackerModel } from './tracker-model.js';

export interface SimViewerDeps {
  clock: EventClock;
  net: MemoryNetwork;
  tracker: TrackerModel;
  checkPiece: PieceCheck;
  pieceLength: number;
  nominalIntervalMs: number;
  windowCapacity: number;
  /** The client's upload cap (its token bucket), bytes/s. */
  uploadRate: number | null;
  /** Program request → admitted, ms; then announce → tracker's answer, ms (each a round trip plus the server's work). */
  admissionMs: number;
  trackerRttMs: number;
  /** Engine settings and playback timings over the defaults (empty: the defaults). */
  peer: Partial<PeerSettings>;
  playback: Partial<PlaybackTimings>;
  /** The choker's tie-breaks (seeded). */
  random: () => number;
}

export class SimViewer {
  readonly sid: string;
  readonly user: string;
  readonly ip: string;
  readonly startedAt: number;
  admittedAt = 0;
  listedAt: number | null = null;
  private swarm: Swarm | null = null;
  private driver: PlaybackDriver | null = null;
  private reannounce: TimerHandle | null = null;
  private pending: TimerHandle | null = null;
  /** How the tracker lists us, once we listen. */
  private listed: ChannelPeer | null = null;
  private lastByteAt: number | null = null;
  private ended: { kind: string; reason: string; at: number } | null = null;

  constructor(
    readonly index: number,
    private readonly deps: SimViewerDeps,
  ) {
    this.sid = `v${index}`;
    this.user = `viewer${index}`;
    // One address per viewer: 10.0.0.0/8 holds 16 million.
    this.ip = `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`;
    this.startedAt = deps.clock.now();
  }

  get playing(): boolean {
    return (this.driver?.firstByteAt ?? null) !== null;
  }

  get peerCount(): number {
    return this.swarm?.peerCount ?? 0;
  }

  /** Steps a–e in virtual time: admitted after a delay, then listed, then dialing what the tracker answered. */
  start(): void {
    const { clock } = this.deps;
    this.pending = clock.setTimeout(() => {
      this.pending = null;
      this.admittedAt = clock.now();
      void this.join();
    }, this.deps.admissionMs);
  }

  private async join(): Promise<void> {
    const d = this.deps;
    const transport = d.net.transport({ sid: this.sid, user: this.user, role: 'viewer' }, { ip: this.ip, port: 6881 });
    let driver: PlaybackDriver | null = null;
    const swarm = new Swarm({
      sid: this.sid,
      role: 'viewer',
      clock: d.clock,
      transport,
      checkPiece: d.checkPiece,
      pieceLength: d.pieceLength,
      pieceIntervalMs: () => driver?.intervalMs ?? d.nominalIntervalMs,
      windowCapacity: d.windowCapacity,
      maxPeers: DEFAULTS.maxPeers,
      uploadSlots: DEFAULTS.uploadSlots,
      uploadRate: d.uploadRate,
      random: d.random,
      peer: d.peer,
    });
    driver = new PlaybackDriver({ swarm, clock: d.clock, nominalIntervalMs: d.nominalIntervalMs, timings: playbackTimings(d.playback) });
    this.swarm = swarm;
    this.driver = driver;
    const drv = driver;
    swarm.on('piece', (piece) => {
      this.lastByteAt = d.clock.now();
      drv.arrived(piece);
    });
    await swarm.start();
    if (this.ended) return;
    this.listed = transport.listed;
    this.announce(true);
    drv.start();
    this.reannounce = d.clock.setInterval(() => {
      if (swarm.peerCount < DEFAULTS.maxPeers / 2) this.announce(false);
    }, d.peer.reannounceMs ?? DEFAULTS.peer.reannounceMs);
  }

  /** The announce reaches the tracker half a round trip from now (which lists us), its answer the other half later. */
  private announce(first: boolean): void {
    const d = this.deps;
    const half = d.trackerRttMs / 2;
    d.clock.setTimeout(() => {
      if (this.ended || !this.swarm) return;
      const swarm = this.swarm;
      const list = d.tracker.announce(this.sid, DEFAULTS.numwant);
      if (this.listed) d.tracker.join(this.listed);
      d.clock.setTimeout(() => {
        if (this.ended) return;
        if (first) this.listedAt = d.clock.now();
        swarm.connect(list);
      }, half);
    }, half);
  }

  /** Leaves on its own: peers are told (step C), the tracker drops it, the swarm closes. */
  leave(reason: string): void {
    if (this.ended) return;
    this.ended = { kind: 'stopped', reason, at: this.deps.clock.now() };
    this.pending?.cancel();
    this.reannounce?.cancel();
    this.driver?.stop();
    this.deps.tracker.leave(this.sid);
    if (this.swarm) {
      this.swarm.leaveAll(reason);
      void this.swarm.close();
    }
  }

  /** Viewer.stats() as the bench's worker reports it. */
  report(): ViewerReport {
    const now = this.deps.clock.now();
    const s = this.swarm;
    const p = this.driver?.stats();
    return {
      session: this.sid,
      user: this.user,
      peers: s?.peerCount ?? 0,
      downBps: s ? s.downMeter.rate(now) * 8 : 0,
      upBps: s ? s.upMeter.rate(now) * 8 : 0,
      bufferS: p?.bufferS ?? 0,
      bytesFromSource: s?.bytesFromSource ?? 0,
      bytesFromPeers: s?.bytesFromPeers ?? 0,
      uploaded: s?.uploaded ?? 0,
      played: p?.played ?? 0,
      missed: p?.missed ?? 0,
      gapped: p?.gapped ?? 0,
      lastGap: p?.lastGap ?? null,
      onTime: p?.onTime ?? 0,
      late: p?.late ?? 0,
      continuity: p?.continuity ?? 1,
      stalledMs: p?.stalledMs ?? 0,
      behindLiveMs: p?.behindLiveMs ?? null,
      recentLate: p?.recentLate ?? [],
      startedAt: this.startedAt,
      admittedAt: this.admittedAt,
      listedAt: this.listedAt,
      firstByteAt: p?.firstByteAt ?? null,
      latencyMs: p?.latencyMs ?? [],
      lastByteAt: this.lastByteAt,
      ended: this.ended,
    };
  }
}
