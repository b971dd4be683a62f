/**
 * When and what a viewer asks for (libtorrent's request_blocks, beside the
 * picker that decides which piece): one pass of the picker per turn however
 * many messages arrived in it, a pass on the swarm's tick for timeouts and
 * endgame, and the one place where requests taken off the picker's record
 * turn into `cancel` messages.
 */
import type { Clock } from '../core/clock.js';
import type { AssignPeer, PiecePicker, Released } from './piece-picker.js';
import type { Peer, PeerSettings } from './swarm-types.js';

export interface RequestSchedulerDeps {
  picker: PiecePicker;
  clock: Clock;
  settings: Pick<PeerSettings, 'maxInFlight' | 'maxInFlightAtSource'>;
  pieceIntervalMs: () => number;
  /** Every connected peer. */
  peers: () => Iterable<Peer>;
  peer: (key: string) => Peer | undefined;
  isRevoked: (sid: string) => boolean;
}

export class RequestScheduler {
  private scheduled = false;
  private stopped = false;
  private readonly open: AssignPeer[] = [];
  /** Whether `open` may be stale: a peer came or went, choked or unchoked us, or was revoked (peersChanged()). */
  private stale = true;

  constructor(private readonly deps: RequestSchedulerDeps) {}

  /** A pass after the current turn: a burst of haves from many peers costs one pass of the picker, not one each. */
  schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    this.deps.clock.defer(this.deferredPass);
  }

  /** The deferred pass, made once (a pass is scheduled after nearly every turn with news). */
  private readonly deferredPass = (): void => {
    this.scheduled = false;
    if (!this.stopped) this.pass();
  };

  /** The swarm's timer: requests unanswered too long go back to the picker (and are cancelled), then a pass. */
  tick(): void {
    this.release(this.deps.picker.timedOut(this.deps.clock.now()));
    this.pass();
  }

  /**
   * Requests taken off the picker's record: the blocks still owed are
   * cancelled at a peer that would otherwise still send them (connected,
   * unchoking us, not revoked). A peer that choked us or left owes nothing.
   */
  release(released: readonly Released[]): void {
    for (const r of released) {
      const peer = this.deps.peer(r.peerKey);
      if (!peer || peer.link.closed || peer.link.remoteChoking || this.deps.isRevoked(peer.sid)) continue;
      for (const b of r.missing) peer.link.cancel(r.seq, b.begin, b.length);
    }
  }

  /**
   * Who may be asked has changed: a peer came or went, choked or unchoked us
   * (both transports set remoteChoking and emit the event in one step), or
   * was revoked. Until then a pass reuses the list the last one gathered.
   */
  peersChanged(): void {
    this.stale = true;
  }

  /** The peers that may be asked now; the objects are reused from pass to pass (the picker only reads them). */
  private gather(): readonly AssignPeer[] {
    const open = this.open;
    if (!this.stale) return open;
    this.stale = false;
    const { settings } = this.deps;
    let n = 0;
    for (const peer of this.deps.peers()) {
      if (peer.link.remoteChoking || this.deps.isRevoked(peer.sid)) continue;
      const a = open[n] ?? (open[n] = { key: '', maxInFlight: 0, isSource: false });
      a.key = peer.key;
      // The source is everyone's last resort: one piece at a time from it keeps its queue short.
      a.maxInFlight = peer.isSource ? settings.maxInFlightAtSource : settings.maxInFlight;
      a.isSource = peer.isSource;
      n++;
    }
    if (open.length !== n) open.length = n;
    return open;
  }

  stop(): void {
    this.stopped = true;
  }

  private pass(): void {
    const { picker } = this.deps;
    if (picker.playhead === null) return;
    const now = this.deps.clock.now();
    for (const { seq, peerKey } of picker.assign(this.gather(), { nowMs: now, pieceIntervalMs: this.deps.pieceIntervalMs() })) {
      const peer = this.deps.peer(peerKey);
      if (!peer) continue;
      for (const b of picker.requested(seq, peerKey, now)) peer.link.request(seq, b.begin, b.length);
    }
  }
}
