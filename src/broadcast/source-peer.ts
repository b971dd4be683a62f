/**
 * The broadcaster: admitted by the control server with admin credentials, it
 * turns the ingest into signed live pieces and seeds them into the swarm as a
 * peer in the source role, through the same tracker and wire as any viewer.
 */
import { EventEmitter } from 'node:events';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { Clock, TimerHandle } from '../core/clock.js';
import { ClientError } from '../core/errors.js';
import { pieceIntervalMs, rawPublicKey } from '../core/piece.js';
import type { ClientTrust } from '../core/ports.js';
import type { ProgramMetadata } from '../core/types.js';
import { requestSource, type DeviceCredential } from '../protocol/control-api.js';
import { systemClock } from '../protocol/system-clock.js';
import type { ControlSession } from '../peer/control-session.js';
import type { TrackerClient } from '../peer/tracker-client.js';
import type { Swarm } from '../peer/swarm.js';
import { joinSwarm } from '../peer/join-swarm.js';
import { openIngest, type IngestSpec } from './ingest.js';
import { LiveSource, defaultFirstSeq } from './live-source.js';
import { SeqReservation, type SeqStart, type SeqStateStore } from './seq-reservation.js';

export interface BroadcastOptions {
  controlUrl: string;
  program: string;
  /** The admin password, or an admin's device credential (`gatecast login --user admin`). */
  adminPassword: string | DeviceCredential;
  input: IngestSpec;
  /** Upload cap in bytes per second; null for none. */
  uploadRate?: number | null;
  host?: string;
  peerPort?: number;
  clock?: Clock;
  ffmpegPath?: string;
  /** Peers told of each new piece at once. */
  tier?: number;
  log?: (line: string) => void;
  /**
   * The program's source signing key (Ed25519 private), made on the
   * broadcaster's side (`admin programs add` / `programs rekey`). The control
   * server never holds nor hands out one; the key must match the program's
   * `source_key`.
   */
  sourceKey: KeyObject;
  /** Which control server and tracker certificates to trust; Node's defaults when absent. */
  trust?: ClientTrust;
  /**
   * Where the program's sequence reservation is kept (a file next to the
   * source key), so a restart continues the program's sequence space
   * without reusing a seq. Without one, each start begins at the clock floor.
   */
  seqState?: SeqStateStore;
}

/** Viewers a starting source asks the tracker for and dials. */
const RESTART_NUMWANT = 50;

export interface BroadcasterEvents {
  error: [Error];
  end: [];
}

export class Broadcaster extends EventEmitter<BroadcasterEvents> {
  private constructor(
    readonly metadata: ProgramMetadata,
    readonly swarm: Swarm,
    readonly source: LiveSource,
    /** The first seq of this run, and whether it continues a saved reservation or starts at the clock floor. */
    readonly seqStart: SeqStart,
    private readonly tracker: TrackerClient,
    private readonly session: ControlSession,
  ) {
    super();
  }

  static async start(options: BroadcastOptions): Promise<Broadcaster> {
    const clock = options.clock ?? systemClock;
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const admission = await requestSource(options.controlUrl, options.adminPassword, options.program, rawPublicKey(publicKey), undefined, options.trust);
    const md = admission.metadata;
    const infoHash = Buffer.from(md.info_hash, 'hex');
    const sourceKey = options.sourceKey;
    if (sourceKey.type !== 'private' || sourceKey.asymmetricKeyType !== 'ed25519') throw new Error('the source key must be an Ed25519 private key');
    if (rawPublicKey(sourceKey) !== md.source_key) {
      throw new Error(
        `this source key is not program ${md.program}'s (its public key is ${md.source_key}): ` +
          `use the key file \`gatecast admin programs add\` saved, or make a new one with \`gatecast admin programs rekey ${md.program}\``,
      );
    }
    // The input first: an unreadable file or a missing ffmpeg fails before anything listens.
    const ingest = openIngest(options.input, options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {});
    const joined = await joinSwarm({
      controlUrl: options.controlUrl,
      trust: options.trust,
      admission,
      clientKey: privateKey,
      role: 'source',
      peerId: Buffer.concat([Buffer.from('-GC0001S'), randomBytes(12)]),
      clock,
      host: options.host ?? '127.0.0.1',
      peerPort: options.peerPort ?? 0,
      // Viewers already in the swarm (the source restarted under them) are dialled at once rather than
      // waiting for their next announce to list us.
      numwant: RESTART_NUMWANT,
      swarm: { maxPeers: 200, uploadSlots: 200, uploadRate: options.uploadRate ?? null, sourceTier: options.tier ?? 1, log: options.log },
    }).catch(async (err: unknown) => {
      await ingest.stop();
      throw err;
    });
    const { session, swarm, tracker } = joined;
    let seqStart: SeqStart;
    let reservation: SeqReservation | null = null;
    try {
      if (options.seqState) {
        // About a second of pieces per block: the most a restart leaves unused, and saves about twice a second at any bitrate.
        const block = Math.max(8, Math.ceil(1_000 / pieceIntervalMs(md)));
        reservation = new SeqReservation({ store: options.seqState, infoHash: md.info_hash, block });
        seqStart = reservation.start(clock.now());
      } else {
        seqStart = { firstSeq: defaultFirstSeq(clock.now()), from: 'clock', reason: 'no sequence state kept' };
      }
    } catch (err) {
      // The first block could not be saved: signing anything now could reuse a seq after the next restart.
      await swarm.close();
      await ingest.stop();
      throw err;
    }
    const source = new LiveSource({
      ingest,
      packetsPerPiece: md.packets_per_piece,
      infoHash,
      sourceKey,
      clock,
      firstSeq: seqStart.firstSeq,
      ...(reservation ? { reserve: (seq: number) => reservation.use(seq) } : {}),
    });
    const b = new Broadcaster(md, swarm, source, seqStart, tracker, session);
    source.on('piece', (piece) => swarm.addLocalPiece(piece));
    source.on('error', (err) => b.fail(err));
    source.on('end', () => b.emit('end'));
    try {
      swarm.connect(await tracker.start());
    } catch (err) {
      await swarm.close();
      await ingest.stop();
      throw err;
    }
    tracker.on('revoked', ({ sid }) => swarm.revoke(sid));
    // The operator ended the source's session (kicked the admin session): leave like a viewer would.
    tracker.on('disconnect', ({ id, reason }) => {
      swarm.leaveAll(reason);
      void tracker.stopped(id).finally(() => b.fail(new ClientError('session_ended', `broadcast ended by the operator: ${reason}`)));
    });
    tracker.on('lost', (err) => {
      options.log?.(`tracker channel lost (${err.message}); reconnecting`);
      b.scheduleReconnect(clock, 1_000);
    });
    session.on('ended', (err) => b.fail(err));
    session.start();
    source.start();
    return b;
  }

  private reconnectTimer: TimerHandle | null = null;
  private stopped = false;

  /** One reconnect loop at a time. */
  scheduleReconnect(clock: Clock, ms: number): void {
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = clock.setTimeout(() => {
      this.reconnectTimer = null;
      this.tracker.start().catch(() => this.scheduleReconnect(clock, 2_000));
    }, ms);
  }

  /** Reports a fatal error to whoever listens; with no listener it is only logged, never thrown. */
  fail(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else process.stderr.write(`broadcaster: ${err.message}\n`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.reconnectTimer?.cancel();
    this.session.stop();
    await this.source.stop();
    this.swarm.leaveAll('broadcast ended');
    await this.tracker.stopped();
    await this.swarm.close();
  }
}
