/**
 * Which pieces to ask which peer for, in the spirit of libtorrent's
 * piece_picker with time-critical pieces: pure bookkeeping of who has what,
 * what we hold and what is in flight; no sockets, no timers (callers pass
 * nowMs).
 *
 * A piece's deadline is its distance from the playhead: piece s is due in
 * (s - playhead) × pieceIntervalMs. Pieces due within the urgency horizon go
 * first, earliest deadline first; the rest go rarest first, so copies spread
 * through the swarm before anyone needs them. The source is asked only for
 * what no viewer has, or for what is about to be late, so viewers carry most
 * bytes.
 */
import { decodeWindow } from './bitmap.js';
import { assertSeq, bump, cmp } from './picker-counts.js';

export interface PiecePickerOptions {
  /** A request unanswered this long is released so another peer can serve it. */
  requestTimeoutMs?: number;
  /** Pieces due within this horizon of the playhead are urgent. */
  urgencyHorizonMs?: number;
  /** The source is asked for a piece a viewer also has only when it is due within this. */
  sourceUrgencyMs?: number;
  /** A piece already in flight may be asked of a second peer when due within this ("endgame")... */
  endgameMs?: number;
  /** ...and when the first request has been outstanding at least this long. */
  endgameAfterMs?: number;
  /** At most this many peers are asked for one piece at once. */
  maxRequestsPerPiece?: number;
  /** Pieces further than this beyond the playhead are not picked (bounds the work per pick). */
  maxLookahead?: number;
  /** A viewer's have or window further than this beyond the live edge is ignored: no honest viewer is that far ahead (the source may be, after a restart). */
  maxLeap?: number;
}

export interface PickOptions {
  nowMs: number;
  /** Requests this peer may have outstanding at once, counting those already sent. */
  maxInFlight: number;
  isSource: boolean;
  /** Milliseconds of stream per piece (about 131 ms at 2 Mbit/s). */
  pieceIntervalMs: number;
}

export interface AssignPeer {
  key: string;
  /** Requests this peer may have outstanding at once, counting those already sent. */
  maxInFlight: number;
  isSource: boolean;
}

export interface RequestRef {
  seq: number;
  peerKey: string;
}

const DEFAULT_OPTIONS: Required<PiecePickerOptions> = {
  requestTimeoutMs: 3_000,
  urgencyHorizonMs: 2_000,
  sourceUrgencyMs: 1_500,
  endgameMs: 1_000,
  endgameAfterMs: 500,
  maxRequestsPerPiece: 2,
  maxLookahead: 1_024,
  maxLeap: 4_096,
};

interface OpenPeer extends AssignPeer {
  state: PeerState;
  /** Our requests outstanding there, counting those assigned in this pass. */
  load: number;
}

interface PeerState {
  pieces: Set<number>;
  isSource: boolean;
  /** The lowest seq it ever advertised: a source holds every piece it made from there on. */
  from: number | null;
  /** seq → when we asked this peer for it. */
  inFlight: Map<number, number>;
}

export class PiecePicker {
  private readonly opts: Required<PiecePickerOptions>;
  private readonly peers = new Map<string, PeerState>();
  /** seq → how many peers (of any role) advertise it. */
  private readonly avail = new Map<number, number>();
  /** seq → how many non-source peers advertise it. */
  private readonly viewerAvail = new Map<number, number>();
  /** seq → peers asked for it, with when. */
  private readonly inFlight = new Map<number, Map<string, number>>();
  /** seq → peers that failed or timed out on it; they are asked again only if nobody else has it. */
  private readonly failed = new Map<number, Set<string>>();
  private readonly ours = new Set<number>();
  private playheadSeq: number | null = null;
  /** Turns ties between equally loaded peers into a rotation. */
  private rotation = 0;
  private edge: number | null = null;

  constructor(options: PiecePickerOptions = {}) {
    this.opts = { ...DEFAULT_OPTIONS, ...options };
  }

  /** The next piece the player needs, or null before the caller has chosen a start. */
  get playhead(): number | null {
    return this.playheadSeq;
  }

  /** The highest seq anyone (us included) is known to hold. Never goes back. */
  get liveEdge(): number | null {
    return this.edge;
  }

  /**
   * Moves the playback point; everything below it is forgotten. Returns the
   * requests still in flight for pieces now behind it, for the caller to cancel.
   */
  setPlayhead(seq: number): RequestRef[] {
    assertSeq(seq);
    this.playheadSeq = seq;
    const dropped: RequestRef[] = [];
    for (const [s, askers] of this.inFlight) {
      if (s >= seq) continue;
      for (const peerKey of askers.keys()) {
        dropped.push({ seq: s, peerKey });
        this.peers.get(peerKey)?.inFlight.delete(s);
      }
      this.inFlight.delete(s);
    }
    for (const peer of this.peers.values()) {
      for (const s of peer.pieces) if (s < seq) this.removeAvail(peer, s);
    }
    for (const s of this.ours) if (s < seq) this.ours.delete(s);
    for (const s of this.failed.keys()) if (s < seq) this.failed.delete(s);
    return dropped.sort((a, b) => a.seq - b.seq);
  }

  /** Marks a peer as the source (or not); its pieces then stop counting as viewers' copies. */
  setSource(peerKey: string, isSource = true): void {
    const peer = this.peer(peerKey);
    if (peer.isSource === isSource) return;
    for (const s of peer.pieces) if (!peer.isSource) bump(this.viewerAvail, s, -1);
    peer.isSource = isSource;
    for (const s of peer.pieces) if (!peer.isSource) bump(this.viewerAvail, s, 1);
  }

  /** A peer's window bitmap replaces what we knew of it. Throws ProtocolError on a malformed window. */
  peerWindow(peerKey: string, base: number, bits: Uint8Array): void {
    const seqs = decodeWindow(base, bits);
    const peer = this.peer(peerKey);
    for (const s of [...peer.pieces]) this.removeAvail(peer, s);
    for (const s of seqs) this.addAvail(peer, s);
  }

  peerHave(peerKey: string, seq: number): void {
    assertSeq(seq);
    this.addAvail(this.peer(peerKey), seq);
  }

  /** Forgets a peer; returns the requests it still owed us, now free for others. */
  peerGone(peerKey: string): RequestRef[] {
    const peer = this.peers.get(peerKey);
    if (!peer) return [];
    const released = this.releasePeer(peerKey);
    for (const s of [...peer.pieces]) this.removeAvail(peer, s);
    this.peers.delete(peerKey);
    for (const [s, who] of this.failed) {
      who.delete(peerKey);
      if (who.size === 0) this.failed.delete(s);
    }
    return released;
  }

  /** Releases every request outstanding to a peer (it choked us); returns them. */
  releasePeer(peerKey: string): RequestRef[] {
    const peer = this.peers.get(peerKey);
    if (!peer) return [];
    const released: RequestRef[] = [];
    for (const s of peer.inFlight.keys()) {
      released.push({ seq: s, peerKey });
      this.dropRequest(s, peerKey);
    }
    return released.sort((a, b) => a.seq - b.seq);
  }

  /** Records a request the caller has sent. */
  requested(seq: number, peerKey: string, nowMs: number): void {
    assertSeq(seq);
    const peer = this.peer(peerKey);
    peer.inFlight.set(seq, nowMs);
    let askers = this.inFlight.get(seq);
    if (!askers) this.inFlight.set(seq, (askers = new Map()));
    askers.set(peerKey, nowMs);
  }

  /**
   * We now hold seq (asked for or pushed to us). Returns the other peers
   * still asked for it, for the caller to send them `cancel`.
   */
  received(seq: number, fromPeerKey?: string): string[] {
    assertSeq(seq);
    const askers = this.inFlight.get(seq);
    const others: string[] = [];
    if (askers) {
      for (const peerKey of [...askers.keys()]) {
        if (peerKey !== fromPeerKey) others.push(peerKey);
        this.dropRequest(seq, peerKey);
      }
    }
    this.failed.delete(seq);
    if (this.playheadSeq === null || seq >= this.playheadSeq) this.ours.add(seq);
    this.raiseEdge(seq);
    return others.sort();
  }

  /** The peer rejected the request or sent a bad piece: ask someone else. */
  requestFailed(seq: number, peerKey: string): void {
    this.dropRequest(seq, peerKey);
    this.markFailed(seq, peerKey);
  }

  /** Releases requests older than requestTimeoutMs and returns them (send `cancel`). */
  timedOut(nowMs: number): RequestRef[] {
    const expired: RequestRef[] = [];
    for (const [seq, askers] of this.inFlight) {
      for (const [peerKey, at] of askers) {
        if (nowMs - at >= this.opts.requestTimeoutMs) expired.push({ seq, peerKey });
      }
    }
    for (const { seq, peerKey } of expired) this.requestFailed(seq, peerKey);
    return expired.sort((a, b) => a.seq - b.seq || cmp(a.peerKey, b.peerKey));
  }

  has(seq: number): boolean {
    return this.ours.has(seq);
  }

  isInFlight(seq: number): boolean {
    return this.inFlight.has(seq);
  }

  inFlightCount(peerKey: string): number {
    return this.peers.get(peerKey)?.inFlight.size ?? 0;
  }

  /** How many peers (source included) advertise seq. */
  availability(seq: number): number {
    return this.avail.get(seq) ?? 0;
  }

  /**
   * The lowest seq a connected source has advertised, or null: every piece
   * from there to the live edge exists (it made them), even those whose
   * `have` has not reached us yet. A restarted source's starts after its gap.
   */
  sourceFloor(): number | null {
    let floor: number | null = null;
    for (const p of this.peers.values()) if (p.isSource && p.from !== null && (floor === null || p.from < floor)) floor = p.from;
    return floor;
  }

  /** Whether the peer holds anything we still want: drives our `interested` message. */
  interestedIn(peerKey: string): boolean {
    const peer = this.peers.get(peerKey);
    const from = this.playheadSeq;
    if (!peer || from === null) return false;
    for (const s of peer.pieces) if (s >= from && !this.ours.has(s)) return true;
    return false;
  }

  /** The seqs to request from this one peer now, best first; call requested() for each one sent. */
  pick(peerKey: string, opts: PickOptions): number[] {
    return this.assign([{ key: peerKey, maxInFlight: opts.maxInFlight, isSource: opts.isSource }], opts).map((r) => r.seq);
  }

  /**
   * Which piece to ask which peer for now, over all the peers that unchoke
   * us, best piece first; call requested() for each one sent. Each wanted
   * piece goes to the least loaded peer that has it (fewest of our requests
   * outstanding there; ties rotate), so requests spread over every holder
   * instead of queueing at whichever peer was connected first. A viewer is
   * preferred to the source.
   */
  assign(peers: readonly AssignPeer[], opts: { nowMs: number; pieceIntervalMs: number }): RequestRef[] {
    const from = this.playheadSeq;
    if (from === null || this.edge === null) return [];
    const open: OpenPeer[] = [];
    for (const p of peers) {
      const state = this.peers.get(p.key);
      if (!state) continue;
      if (p.isSource) this.setSource(p.key, true);
      if (state.inFlight.size >= p.maxInFlight) continue;
      open.push({ key: p.key, maxInFlight: p.maxInFlight, isSource: p.isSource, state, load: state.inFlight.size });
    }
    if (open.length === 0) return [];
    const interval = Math.max(0, opts.pieceIntervalMs);
    const last = Math.min(this.edge, from + this.opts.maxLookahead);
    const urgent: number[] = [];
    const rest: number[] = [];
    for (let s = from; s <= last; s++) {
      if (this.ours.has(s) || !this.avail.has(s)) continue;
      ((s - from) * interval < this.opts.urgencyHorizonMs ? urgent : rest).push(s);
    }
    rest.sort((a, b) => this.availability(a) - this.availability(b) || a - b);

    const out: RequestRef[] = [];
    const tied: OpenPeer[] = [];
    let budget = 0;
    for (const p of open) budget += p.maxInFlight - p.load;
    for (const s of urgent.concat(rest)) {
      if (budget <= 0) break;
      const due = (s - from) * interval;
      const askers = this.inFlight.get(s);
      if (askers && !this.endgameAllows(askers, due, opts.nowMs)) continue;
      tied.length = 0;
      let bestScore = Infinity;
      for (const p of open) {
        if (p.load >= p.maxInFlight || !p.state.pieces.has(s) || p.state.inFlight.has(s)) continue;
        if (p.isSource && due >= this.opts.sourceUrgencyMs && (this.viewerAvail.get(s) ?? 0) > 0) continue;
        if (this.failed.get(s)?.has(p.key) && this.someoneElseHas(s, p.key)) continue;
        // The source is the last resort: any viewer beats it.
        const score = p.load + (p.isSource ? 1_000 : 0);
        if (score < bestScore) {
          tied.length = 0;
          bestScore = score;
        }
        if (score === bestScore) tied.push(p);
      }
      const best = tied[this.rotation++ % Math.max(1, tied.length)];
      if (best === undefined) continue;
      best.load++;
      budget--;
      out.push({ seq: s, peerKey: best.key });
    }
    return out;
  }

  private endgameAllows(askers: Map<string, number>, due: number, nowMs: number): boolean {
    if (due >= this.opts.endgameMs || askers.size >= this.opts.maxRequestsPerPiece) return false;
    let newest = -Infinity;
    for (const at of askers.values()) newest = Math.max(newest, at);
    return nowMs - newest >= this.opts.endgameAfterMs;
  }

  private someoneElseHas(seq: number, peerKey: string): boolean {
    for (const [key, peer] of this.peers) {
      if (key !== peerKey && peer.pieces.has(seq) && !this.failed.get(seq)?.has(key)) return true;
    }
    return false;
  }

  private peer(peerKey: string): PeerState {
    let peer = this.peers.get(peerKey);
    if (!peer) this.peers.set(peerKey, (peer = { pieces: new Set(), isSource: false, from: null, inFlight: new Map() }));
    return peer;
  }

  private addAvail(peer: PeerState, seq: number): void {
    if (!peer.isSource && this.edge !== null && seq > this.edge + this.opts.maxLeap) return;
    if (peer.from === null || seq < peer.from) peer.from = seq;
    this.raiseEdge(seq);
    if (this.playheadSeq !== null && seq < this.playheadSeq) return;
    if (peer.pieces.has(seq)) return;
    peer.pieces.add(seq);
    bump(this.avail, seq, 1);
    if (!peer.isSource) bump(this.viewerAvail, seq, 1);
  }

  private removeAvail(peer: PeerState, seq: number): void {
    if (!peer.pieces.delete(seq)) return;
    bump(this.avail, seq, -1);
    if (!peer.isSource) bump(this.viewerAvail, seq, -1);
  }

  private raiseEdge(seq: number): void {
    if (this.edge === null || seq > this.edge) this.edge = seq;
  }

  private dropRequest(seq: number, peerKey: string): void {
    this.peers.get(peerKey)?.inFlight.delete(seq);
    const askers = this.inFlight.get(seq);
    if (!askers) return;
    askers.delete(peerKey);
    if (askers.size === 0) this.inFlight.delete(seq);
  }

  private markFailed(seq: number, peerKey: string): void {
    if (this.playheadSeq !== null && seq < this.playheadSeq) return;
    let who = this.failed.get(seq);
    if (!who) this.failed.set(seq, (who = new Set()));
    who.add(peerKey);
  }
}
