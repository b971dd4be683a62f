/**
 * What a viewer and the source do alike between joining the swarm and
 * leaving it: act on the tracker channel's events (peers to dial, sessions
 * revoked, the operator's disconnect, a lost channel), ask for more peers
 * when short of them, and end exactly once, in the order step C wants:
 * token renewals stop, peers are told (`leaving`), the tracker gets
 * `stopped` (with the disconnect's id when the operator asked), then the
 * swarm closes. A refusal from the control server or the tracker (a
 * ClientError, on renewal or on reconnect) ends the session: retrying a
 * refusal would never succeed.
 *
 * A lost tracker channel is not an end: the client moves to the next tracker
 * of the metadata's list (wrapping around; the same one when there is one)
 * with the same session and token, and keeps moving while each fails. The
 * trackers share the swarm, so the peer connections and playback carry on
 * untouched meanwhile: only the channel (new peers, heartbeats, kicks) moves.
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import { ClientError } from '../core/errors.js';
import type { ChannelPeer } from '../protocol/tracker-channel.js';

/** The tracker channel as the lifecycle uses it (TrackerClient meets it). */
export interface LifecycleTracker {
  on(event: 'peers', listener: (peers: ChannelPeer[]) => void): unknown;
  on(event: 'disconnect', listener: (d: { id: string; reason: string }) => void): unknown;
  on(event: 'revoked', listener: (r: { id: string; sid: string }) => void): unknown;
  on(event: 'lost' | 'warning', listener: (err: Error) => void): unknown;
  readonly connected: boolean;
  /** How many trackers the client may use (the metadata's `trackers`). */
  readonly trackerCount: number;
  /** With no channel open: the next tracker of the list (wrapping around) for the next start(); returns its URL. */
  moveOn(): string;
  /** Opens the channel (unless open) and announces; a ClientError is a refusal. */
  start(): Promise<ChannelPeer[]>;
  announce(): Promise<ChannelPeer[]>;
  /** Step C's answer to the tracker; `ref` is the disconnect's id. */
  stopped(ref?: string): Promise<void>;
  close(): void;
}

/** The control session (token renewals) as the lifecycle uses it (ControlSession meets it). */
export interface LifecycleSession {
  /** Renewal refused for good. */
  on(event: 'ended', listener: (err: ClientError) => void): unknown;
  on(event: 'warning', listener: (err: Error) => void): unknown;
  start(): void;
  stop(): void;
}

/** The swarm as the lifecycle uses it (Swarm meets it). */
export interface LifecycleSwarm {
  readonly peerCount: number;
  connect(peers: ChannelPeer[]): void;
  revoke(sid: string): void;
  /** Step C: tell every peer we go. */
  leaveAll(reason: string): void;
  close(): Promise<void>;
}

/** How a client's session ended. */
export type ClientEnd =
  | { kind: 'kicked'; reason: string }
  /** The control server or the tracker refused us (renewal, reconnect): `error` says why. */
  | { kind: 'session_ended'; reason: string; error: ClientError }
  | { kind: 'stopped'; reason: string };

export interface ClientLifecycleOptions {
  tracker: LifecycleTracker;
  swarm: LifecycleSwarm;
  session: LifecycleSession;
  clock: Clock;
  log?: (line: string) => void;
  /** Re-announce every reannounceMs while fewer peers than this are connected; null never (the source). */
  reannounceBelow: number | null;
  /** DEFAULTS.peer.reannounceMs, trackerReconnectMs, trackerRetryMs, joinRetryMs unless given. */
  reannounceMs?: number;
  reconnectMs?: number;
  retryMs?: number;
  joinRetryMs?: number;
  /** Runs first when the session ends, before peers are told (the broadcaster stops its ingest here). */
  beforeLeave?: () => void | Promise<void>;
}

export interface ClientLifecycleEvents {
  /** Once, after the swarm closed. */
  ended: [ClientEnd];
}

export class ClientLifecycle extends EventEmitter<ClientLifecycleEvents> {
  private reannounce: TimerHandle | null = null;
  private reconnectTimer: TimerHandle | null = null;
  private ending: Promise<void> | null = null;
  private readonly reannounceMs: number;
  private readonly reconnectMs: number;
  private readonly retryMs: number;
  private readonly joinRetryMs: number;

  constructor(private readonly opts: ClientLifecycleOptions) {
    super();
    this.reannounceMs = opts.reannounceMs ?? DEFAULTS.peer.reannounceMs;
    this.reconnectMs = opts.reconnectMs ?? DEFAULTS.peer.trackerReconnectMs;
    this.retryMs = opts.retryMs ?? DEFAULTS.peer.trackerRetryMs;
    this.joinRetryMs = opts.joinRetryMs ?? DEFAULTS.peer.joinRetryMs;
    // From the first `peers` answer on (before join() resolves): revocations it lists are refused.
    opts.tracker.on('revoked', ({ sid }) => opts.swarm.revoke(sid));
  }

  /** Whether the session has ended (or is ending). */
  get ended(): boolean {
    return this.ending !== null;
  }

  /**
   * Steps c–e: the tracker checks the token, lists us and hands back part of
   * the swarm, which we dial. A tracker that cannot be reached, or fails (its
   * swarm store unreachable), is passed over for the next of the list; after
   * a whole round of failures the round is tried again every retryMs until
   * joinRetryMs have gone by (a tracker restarting, Redis coming back). A
   * refusal (ClientError) is final. On failure the swarm and channel are
   * closed and the last error thrown.
   */
  async join(): Promise<void> {
    const { tracker, swarm, log, clock } = this.opts;
    const giveUpAt = clock.now() + this.joinRetryMs;
    try {
      for (let tried = 1; ; tried++) {
        try {
          swarm.connect(await tracker.start());
          return;
        } catch (err) {
          if (err instanceof ClientError) throw err;
          const roundDone = tried % tracker.trackerCount === 0;
          if (roundDone && clock.now() + this.retryMs > giveUpAt) throw err;
          tracker.close();
          const next = tracker.moveOn();
          if (roundDone) {
            log?.(`no tracker could take us in (${errorText(err)}); trying ${next} again in ${this.retryMs} ms`);
            await new Promise<void>((resolve) => clock.setTimeout(resolve, this.retryMs));
          } else {
            log?.(`tracker unusable (${errorText(err)}); trying ${next}`);
          }
        }
      }
    } catch (err) {
      await swarm.close();
      tracker.close();
      throw err;
    }
  }

  /** From now on the tracker's and the control session's events are acted on. */
  start(): void {
    const { tracker, swarm, session, clock, log } = this.opts;
    tracker.on('peers', (peers) => swarm.connect(peers));
    // Step C: tell peers, answer the tracker with the disconnect's id, stop heartbeats, exit.
    tracker.on('disconnect', ({ id, reason }) => this.end({ kind: 'kicked', reason }, id));
    tracker.on('warning', (err) => log?.(`tracker: ${err.message}`));
    tracker.on('lost', (err) => {
      log?.(`tracker channel lost (${err.message}); reconnecting in ${this.reconnectMs} ms`);
      this.scheduleReconnect(this.reconnectMs);
    });
    session.on('ended', (err) => this.end({ kind: 'session_ended', reason: err.message, error: err }, undefined));
    session.on('warning', (err) => log?.(`token renewal failed, retrying: ${err.message}`));
    const below = this.opts.reannounceBelow;
    if (below !== null) {
      this.reannounce = clock.setInterval(() => {
        if (swarm.peerCount < below && tracker.connected) {
          tracker.announce().catch((err: unknown) => log?.(`re-announce failed: ${String(err)}`));
        }
      }, this.reannounceMs);
    }
    session.start();
  }

  /** Leaves on our own: peers are told, the tracker gets `stopped`. Resolves once the swarm closed; later calls wait for the same end. */
  stop(reason: string): Promise<void> {
    return this.finish({ kind: 'stopped', reason }, undefined);
  }

  /** Ends from an event handler: nobody awaits it, so a failure while leaving is logged. */
  private end(end: ClientEnd, disconnectId: string | undefined): void {
    this.finish(end, disconnectId).catch((err: unknown) => this.opts.log?.(`while ending: ${String(err)}`));
  }

  /** One reconnect loop at a time, however many times the channel is reported lost. */
  private scheduleReconnect(ms: number): void {
    if (this.ending || this.reconnectTimer) return;
    this.reconnectTimer = this.opts.clock.setTimeout(() => {
      this.reconnectTimer = null;
      void this.reconnect();
    }, ms);
  }

  /**
   * Each attempt goes to the next tracker of the list: the one just lost (or
   * failed) may be dead, and any other serves the same swarm. With one tracker
   * it is the same one each time, as before there were several.
   */
  private async reconnect(): Promise<void> {
    if (this.ending) return;
    const { tracker, swarm, log } = this.opts;
    const url = tracker.moveOn();
    try {
      const peers = await tracker.start();
      if (!this.ending) swarm.connect(peers);
      log?.(`tracker channel open again, on ${url}`);
    } catch (err) {
      if (err instanceof ClientError) {
        this.end({ kind: 'session_ended', reason: err.message, error: err }, undefined);
        return;
      }
      if (this.ending) return;
      // A channel that opened but did not take the announce is dropped, so the next attempt may move on.
      tracker.close();
      log?.(`tracker at ${url} unusable (${errorText(err)}); next attempt in ${this.retryMs} ms`);
      this.scheduleReconnect(this.retryMs);
    }
  }

  private finish(end: ClientEnd, disconnectId: string | undefined): Promise<void> {
    this.ending ??= this.leave(end, disconnectId);
    return this.ending;
  }

  private async leave(end: ClientEnd, disconnectId: string | undefined): Promise<void> {
    const { tracker, swarm, session } = this.opts;
    this.reconnectTimer?.cancel();
    this.reconnectTimer = null;
    this.reannounce?.cancel();
    this.reannounce = null;
    session.stop();
    try {
      await this.opts.beforeLeave?.();
    } catch (err) {
      // Peers and the tracker are told all the same: a client that failed to tidy up has still gone.
      this.opts.log?.(`while ending: ${String(err)}`);
    }
    swarm.leaveAll(end.reason);
    await tracker.stopped(disconnectId);
    await swarm.close();
    this.emit('ended', end);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
