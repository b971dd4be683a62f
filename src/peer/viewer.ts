/**
 * A viewer, steps a–f end to end: program request to the control server,
 * metadata parsed, tracker channel opened with the token, peers dialled over
 * the BitTorrent wire, live pieces verified and played in order. Also the
 * receiving end of the disconnect chain (step C). It composes the parts:
 * the swarm, the client lifecycle (tracker events, reconnect, ending) and
 * the playback driver (step f).
 */
import { EventEmitter } from 'node:events';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
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
import { ClientLifecycle } from './client-lifecycle.js';
import { PlaybackDriver, playbackTimings } from './playback-driver.js';
import type { ViewerEnd, ViewerStats } from './viewer-types.js';
import type { PlaybackSink } from './playback-sinks.js';
import { QoeReporter } from './qoe-report.js';

export type { ViewerEnd, ViewerStats } from './viewer-types.js';

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

export interface ViewerEvents {
  ended: [ViewerEnd];
  /** Bytes written to the player for the first time. */
  playing: [];
}

export class Viewer extends EventEmitter<ViewerEvents> {
  private listedAt: number | null = null;
  /** Step f: start point, feeding the sinks, holes, catch-up, continuity. */
  readonly playback: PlaybackDriver;
  private readonly lifecycle: ClientLifecycle;

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
    this.playback = new PlaybackDriver({
      swarm,
      clock: opts.clock,
      nominalIntervalMs: pieceIntervalMs(admission.metadata),
      timings: playbackTimings({
        startLagMs: opts.startLagMs,
        prerollMs: opts.prerollMs,
        minLeadMs: opts.minLeadMs,
        maxStallMs: opts.maxStallMs,
        catchUpMs: opts.catchUpMs,
      }),
      sinks: opts.sinks ?? [],
      onPlaying: () => this.emit('playing'),
      log: opts.log,
    });
    this.lifecycle = new ClientLifecycle({
      tracker,
      swarm,
      session,
      clock: opts.clock,
      log: opts.log,
      // Short of half our peers: ask the tracker for more.
      reannounceBelow: (opts.maxPeers ?? DEFAULTS.maxPeers) / 2,
      beforeLeave: () => this.playback.stop(),
    });
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
    let playback: PlaybackDriver | null = null;
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
      pieceIntervalMs: () => playback?.intervalMs ?? pieceIntervalMs(admission.metadata),
      swarm: {
        maxPeers: opts.maxPeers ?? DEFAULTS.maxPeers,
        uploadSlots: opts.uploadSlots ?? DEFAULTS.uploadSlots,
        uploadRate: opts.uploadRate ?? null,
        log: opts.log,
      },
    });
    const viewer = new Viewer(admission, swarm, tracker, session, opts, startedAt, admittedAt);
    playback = viewer.playback;
    // c–e: the tracker checks the token, lists us, and hands back part of the swarm, which we dial.
    await viewer.lifecycle.join();
    viewer.listedAt = opts.clock.now();
    viewer.wire();
    return viewer;
  }

  get sid(): string {
    return this.admission.session;
  }

  stats(): ViewerStats {
    const now = this.opts.clock.now();
    return {
      session: this.sid,
      peers: this.swarm.peerCount,
      downBps: this.swarm.downMeter.rate(now) * 8,
      upBps: this.swarm.upMeter.rate(now) * 8,
      bytesFromSource: this.swarm.bytesFromSource,
      bytesFromPeers: this.swarm.bytesFromPeers,
      uploaded: this.swarm.uploaded,
      startedAt: this.startedAt,
      admittedAt: this.admittedAt,
      listedAt: this.listedAt,
      ...this.playback.stats(),
    };
  }

  /** Leaves on our own (Ctrl-C): peers are told, the tracker gets `stopped`. */
  async stop(reason = 'viewer stopped'): Promise<void> {
    await this.lifecycle.stop(reason);
  }

  private wire(): void {
    const { swarm, tracker, opts } = this;
    swarm.on('piece', (piece) => this.playback.arrived(piece));
    // Every heartbeat carries our QoE figures, which the tracker relays to the control server.
    const qoe = new QoeReporter();
    tracker.setQoe(() => qoe.report(this.stats(), opts.clock.now()));
    this.lifecycle.on('ended', (end) => this.emit('ended', { kind: end.kind, reason: end.reason }));
    this.lifecycle.start();
    this.playback.start();
  }
}

function peerId(): Buffer {
  // Azureus-style client prefix, then random bytes (BEP 20).
  return Buffer.concat([Buffer.from('-GC0001-'), randomBytes(12)]);
}
