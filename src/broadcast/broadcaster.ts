/**
 * The broadcaster: admitted by the control server with admin credentials, it
 * turns the ingest into signed live pieces and seeds them into the swarm as a
 * peer in the source role, through the same tracker and wire as any viewer.
 * What it holds: the live source, and the swarm and client lifecycle
 * (tracker events, reconnect, ending) it shares with viewers.
 */
import { EventEmitter } from 'node:events';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import { ClientError } from '../core/errors.js';
import { pieceIntervalMs, rawPublicKey, type LivePiece } from '../core/piece.js';
import type { ClientTrust } from '../core/ports.js';
import type { ProgramMetadata } from '../core/types.js';
import { requestSource, type DeviceCredential } from '../protocol/control-api.js';
import { systemClock } from '../protocol/system-clock.js';
import type { Swarm } from '../peer/swarm.js';
import { joinSwarm } from '../peer/join-swarm.js';
import { ClientLifecycle, type ClientEnd, type LifecycleSession, type LifecycleSwarm, type LifecycleTracker } from '../peer/client-lifecycle.js';
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

export interface BroadcasterEvents {
  error: [Error];
  end: [];
}

/** The swarm as the broadcaster uses it (Swarm meets it): the lifecycle's part, and seeding our pieces. */
export interface BroadcastSwarm extends LifecycleSwarm {
  addLocalPiece(piece: LivePiece): void;
}

/** What a broadcaster is made of once admitted and joined: Broadcaster.start builds them; a test passes fakes. */
export interface BroadcasterParts<S extends BroadcastSwarm> {
  metadata: ProgramMetadata;
  swarm: S;
  source: LiveSource;
  seqStart: SeqStart;
  tracker: LifecycleTracker;
  session: LifecycleSession;
  clock: Clock;
  log?: (line: string) => void;
}

export class Broadcaster<S extends BroadcastSwarm = Swarm> extends EventEmitter<BroadcasterEvents> {
  readonly metadata: ProgramMetadata;
  readonly swarm: S;
  readonly source: LiveSource;
  /** The first seq of this run, and whether it continues a saved reservation or starts at the clock floor. */
  readonly seqStart: SeqStart;
  private readonly lifecycle: ClientLifecycle;

  constructor(parts: BroadcasterParts<S>) {
    super();
    this.metadata = parts.metadata;
    this.swarm = parts.swarm;
    this.source = parts.source;
    this.seqStart = parts.seqStart;
    const { swarm, source } = parts;
    this.lifecycle = new ClientLifecycle({
      tracker: parts.tracker,
      swarm,
      session: parts.session,
      clock: parts.clock,
      log: parts.log,
      // The source is dialled by viewers; it never asks for more.
      reannounceBelow: null,
      // Nothing is signed once we leave.
      beforeLeave: () => source.stop(),
    });
    source.on('piece', (piece) => swarm.addLocalPiece(piece));
    source.on('error', (err) => this.fail(err));
    source.on('end', () => this.emit('end'));
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
      numwant: DEFAULTS.peer.sourceNumwant,
      swarm: {
        maxPeers: DEFAULTS.peer.sourceMaxPeers,
        uploadSlots: DEFAULTS.peer.sourceUploadSlots,
        uploadRate: options.uploadRate ?? null,
        sourceTier: options.tier ?? DEFAULTS.peer.sourceTier,
        log: options.log,
      },
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
    const b = new Broadcaster({ metadata: md, swarm, source, seqStart, tracker, session, clock, log: options.log });
    try {
      await b.begin();
    } catch (err) {
      await ingest.stop();
      throw err;
    }
    return b;
  }

  /**
   * Joins the swarm through the tracker (on failure the swarm is closed and
   * the error thrown), then keeps the session and starts signing pieces.
   */
  async begin(): Promise<void> {
    await this.lifecycle.join();
    // The operator ended the source's session (kicked the admin session), the control server or the tracker
    // refused it: every such end is fatal to the broadcast.
    this.lifecycle.on('ended', (end) => {
      const err = fatal(end);
      if (err) this.fail(err);
    });
    this.lifecycle.start();
    this.source.start();
  }

  /** Reports a fatal error to whoever listens; with no listener it is only logged, never thrown. */
  fail(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else process.stderr.write(`broadcaster: ${err.message}\n`);
  }

  /** Stops the source and leaves the swarm; once, however often called or however the session ended. */
  async stop(): Promise<void> {
    await this.lifecycle.stop('broadcast ended');
  }
}

/** The error a broadcast's end reports, or null when we stopped on our own. */
function fatal(end: ClientEnd): Error | null {
  if (end.kind === 'kicked') return new ClientError('session_ended', `broadcast ended by the operator: ${end.reason}`);
  if (end.kind === 'session_ended') return end.error;
  return null;
}
