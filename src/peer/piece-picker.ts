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
 *
 * It is also the one record of requests in flight (picker-requests.ts): every
 * way a request ends (the piece arrived, the peer choked us, failed, timed
 * out, left, or the playhead passed it) goes through here and hands back what
 * the caller should cancel.
 */
import { decodeWindow } from './bitmap.js';
import { assertSeq, countHolder, forgetBelow, type Holders } from './picker-counts.js';
import { IdlePass } from './picker-idle.js';
import { DEFAULT_OPTIONS, type AssignPeer, type PiecePickerOptions, type RequestRef } from './picker-options.js';
import { RequestBook, type BlockRange, type Released } from './picker-requests.js';

export type { BlockRange, Released } from './picker-requests.js';
export type { AssignPeer, PiecePickerOptions, RequestRef } from './picker-options.js';

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
}

export class PiecePicker {
  private readonly opts: Required<PiecePickerOptions>;
  private readonly peers = new Map<string, PeerState>();
  /** seq → how many peers advertise it, of any role and viewers only; an entry only while some do. */
  private readonly avail = new Map<number, Holders>();
  /** Requests in flight: which piece of which peer, since when, which blocks arrived. */
  private readonly book: RequestBook;
  /** seq → peers that failed or timed out on it; they are asked again only if nobody else has it. */
  private readonly failed = new Map<number, Set<string>>();
  private readonly ours = new Set<number>();
  private playheadSeq: number | null = null;
  /** Arrays one assign() pass fills and the next reuses (a viewer runs one every tick): no garbage per pass. */
  private readonly scratch = { urgent: [] as number[], rest: [] as number[], open: [] as OpenPeer[], tied: [] as OpenPeer[] };
  /** Turns ties between equally loaded peers into a rotation. */
  private rotation = 0;
  private edge: number | null = null;
  /** Bumped by every change a pass of assign() reads; with `idle`, a pass like the last empty one is not run again. */
  private version = 0;
  private readonly idle = new IdlePass();
  /** During a pass: the oldest latest request among pieces only time kept out of endgame. */
  private waitingSince = Infinity;
  /** Pieces in flight the last pass passed over without looking at their holders (no endgame yet). */
  private readonly gated: number[] = [];

  constructor(options: PiecePickerOptions = {}) {
    this.opts = { ...DEFAULT_OPTIONS, ...options };
    this.book = new RequestBook(this.opts.pieceLength);
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
  setPlayhead(seq: number): Released[] {
    assertSeq(seq);
    const from = this.playheadSeq;
    this.playheadSeq = seq;
    this.version++;
    const dropped = this.book.releaseBelow(seq);
    for (const peer of this.peers.values()) forgetBelow(peer.pieces, from, seq, (s) => this.removeAvail(peer, s));
    forgetBelow(this.ours, from, seq, (s) => this.ours.delete(s));
    for (const s of this.failed.keys()) if (s < seq) this.failed.delete(s);
    return dropped;
  }

  /** Marks a peer as the source (or not); its pieces then stop counting as viewers' copies. */
  setSource(peerKey: string, isSource = true): void {
    const peer = this.peer(peerKey);
    if (peer.isSource === isSource) return;
    this.version++;
    for (const s of peer.pieces) if (!peer.isSource) countHolder(this.avail, s, 0, -1);
    peer.isSource = isSource;
    for (const s of peer.pieces) if (!peer.isSource) countHolder(this.avail, s, 0, 1);
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
  peerGone(peerKey: string): Released[] {
    const peer = this.peers.get(peerKey);
    if (!peer) return [];
    this.version++;
    const released = this.book.releasePeer(peerKey);
    for (const s of [...peer.pieces]) this.removeAvail(peer, s);
    this.peers.delete(peerKey);
    for (const [s, who] of this.failed) {
      who.delete(peerKey);
      if (who.size === 0) this.failed.delete(s);
    }
    return released;
  }

  /** Releases every request outstanding to a peer (it choked us); returns them. */
  releasePeer(peerKey: string): Released[] {
    this.version++;
    return this.book.releasePeer(peerKey);
  }

  /** Records a request; returns the blocks to ask the peer for. */
  requested(seq: number, peerKey: string, nowMs: number): readonly BlockRange[] {
    assertSeq(seq);
    this.peer(peerKey);
    this.version++;
    this.book.add(seq, peerKey, nowMs);
    return this.book.ranges;
  }

  /**
   * A block of a request arrived: the piece's blocks when it completed the
   * request (check them, then received() or requestFailed()), 'unexpected'
   * when nobody asked that peer for it, else null.
   */
  block(seq: number, peerKey: string, begin: number, data: Buffer): Buffer[] | 'unexpected' | null {
    return this.book.block(seq, peerKey, begin, data);
  }

  /**
   * We now hold seq (asked for or pushed to us). Returns the other peers'
   * requests for it, for the caller to cancel.
   */
  received(seq: number, fromPeerKey?: string): Released[] {
    assertSeq(seq);
    this.version++;
    if (fromPeerKey !== undefined) this.book.release(seq, fromPeerKey);
    const others = this.book.releaseSeq(seq);
    this.failed.delete(seq);
    if (this.playheadSeq === null || seq >= this.playheadSeq) this.ours.add(seq);
    this.raiseEdge(seq);
    return others;
  }

  /** The peer sent a bad piece (or failed the request): ask someone else. Returns the request released. */
  requestFailed(seq: number, peerKey: string): Released[] {
    this.version++;
    const r = this.book.release(seq, peerKey);
    this.markFailed(seq, peerKey);
    return r ? [r] : [];
  }

  /** Releases requests older than requestTimeoutMs and returns them (send `cancel`). */
  timedOut(nowMs: number): Released[] {
    const old = this.book.olderThan(nowMs - this.opts.requestTimeoutMs);
    return old.length === 0 ? [] : old.flatMap(([seq, peerKey]) => this.requestFailed(seq, peerKey));
  }

  has(seq: number): boolean {
    return this.ours.has(seq);
  }

  isInFlight(seq: number): boolean {
    return this.book.isInFlight(seq);
  }

  inFlightCount(peerKey: string): number {
    return this.book.countAt(peerKey);
  }

  /** How many peers (source included) advertise seq. */
  availability(seq: number): number {
    return this.avail.get(seq)?.all ?? 0;
  }

  /** Behind the crowd: no viewer we know (nor we) holds the piece at the playhead, some hold later ones; only the source serves us there. */
  behindViewers(): boolean {
    const from = this.playheadSeq;
    if (from === null || this.edge === null || this.ours.has(from) || this.viewers(from) > 0) return false;
    const last = Math.min(this.edge, from + this.opts.maxLookahead);
    for (let s = from + 1; s <= last; s++) if (this.viewers(s) > 0) return true;
    return false;
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
    const replayed = this.idle.replay(this.version, opts.nowMs, opts.pieceIntervalMs, peers, this.opts.endgameAfterMs);
    if (replayed !== null) {
      this.rotation += replayed;
      return [];
    }
    const rotation = this.rotation;
    this.waitingSince = Infinity;
    if (this.gated.length !== 0) this.gated.length = 0;
    const out = this.pass(from, peers, opts);
    if (out.length > 0) this.idle.forget();
    else this.idle.remember(this.version, opts.nowMs, opts.pieceIntervalMs, this.waitingSince, this.rotation - rotation, peers);
    return out;
  }

  private pass(from: number, peers: readonly AssignPeer[], opts: { nowMs: number; pieceIntervalMs: number }): RequestRef[] {
    const edge = this.edge as number;
    // The wanted pieces first: many passes find none, and then no peer is looked at.
    const interval = Math.max(0, opts.pieceIntervalMs);
    const last = Math.min(edge, from + this.opts.maxLookahead);
    const urgent = this.scratch.urgent;
    const rest = this.scratch.rest;
    if (urgent.length !== 0) urgent.length = 0;
    if (rest.length !== 0) rest.length = 0;
    for (let s = from; s <= last; s++) {
      if (this.ours.has(s) || !this.avail.has(s)) continue;
      ((s - from) * interval < this.opts.urgencyHorizonMs ? urgent : rest).push(s);
    }
    if (urgent.length === 0 && rest.length === 0) return [];
    const open = this.openPeers(peers);
    if (open.length === 0) return [];
    rest.sort((a, b) => this.availability(a) - this.availability(b) || a - b);

    const out: RequestRef[] = [];
    let budget = 0;
    for (const p of open) budget += p.maxInFlight - p.load;
    for (const list of [urgent, rest]) {
      for (const s of list) {
        if (budget <= 0) return out;
        const best = this.bestHolder(s, (s - from) * interval, open, opts.nowMs);
        if (best === undefined) continue;
        best.load++;
        budget--;
        out.push({ seq: s, peerKey: best.key });
      }
    }
    return out;
  }

  /** The peers that may take a request now, with their load; reuses its objects from pass to pass. */
  private openPeers(peers: readonly AssignPeer[]): OpenPeer[] {
    const open = this.scratch.open;
    let n = 0;
    for (const p of peers) {
      const state = this.peers.get(p.key);
      if (!state) continue;
      if (p.isSource) this.setSource(p.key, true);
      const load = this.book.countAt(p.key);
      if (load >= p.maxInFlight) continue;
      const o = open[n] ?? (open[n] = { key: '', maxInFlight: 0, isSource: false, state, load: 0 });
      o.key = p.key;
      o.maxInFlight = p.maxInFlight;
      o.isSource = p.isSource;
      o.state = state;
      o.load = load;
      n++;
    }
    if (open.length !== n) open.length = n;
    return open;
  }

  /** The least loaded peer that may be asked for s (ties rotate), or undefined. */
  private bestHolder(s: number, due: number, open: readonly OpenPeer[], nowMs: number): OpenPeer | undefined {
    if (this.book.isInFlight(s) && !this.endgameAllows(s, due, nowMs)) {
      this.gated.push(s);
      return undefined;
    }
    // tied[0, n) are the best so far; the array is reused and never shortened (no length writes per call).
    const tied = this.scratch.tied;
    let n = 0;
    let bestScore = Infinity;
    for (const p of open) {
      if (p.load >= p.maxInFlight || !p.state.pieces.has(s) || this.book.has(s, p.key)) continue;
      if (p.isSource && due >= this.opts.sourceUrgencyMs && this.viewers(s) > 0) continue;
      if (this.failed.get(s)?.has(p.key) && this.someoneElseHas(s, p.key)) continue;
      // The source is the last resort: any viewer beats it.
      const score = p.load + (p.isSource ? 1_000 : 0);
      if (score < bestScore) {
        n = 0;
        bestScore = score;
      }
      if (score === bestScore) tied[n++] = p;
    }
    const i = this.rotation++ % Math.max(1, n);
    return n === 0 ? undefined : tied[i];
  }

  private endgameAllows(s: number, due: number, nowMs: number): boolean {
    if (due >= this.opts.endgameMs || this.book.askerCount(s) >= this.opts.maxRequestsPerPiece) return false;
    const newestAt = this.book.newestAt(s);
    if (nowMs - newestAt >= this.opts.endgameAfterMs) return true;
    // Only time holds it back: a pass like this one is answered the same until then (picker-idle.ts).
    if (newestAt < this.waitingSince) this.waitingSince = newestAt;
    return false;
  }

  private someoneElseHas(seq: number, peerKey: string): boolean {
    for (const [key, peer] of this.peers) if (key !== peerKey && peer.pieces.has(seq) && !this.failed.get(seq)?.has(key)) return true;
    return false;
  }

  private peer(peerKey: string): PeerState {
    let peer = this.peers.get(peerKey);
    if (!peer) {
      this.peers.set(peerKey, (peer = { pieces: new Set(), isSource: false, from: null }));
      this.version++;
    }
    return peer;
  }

  private addAvail(peer: PeerState, seq: number): void {
    if (!peer.isSource && this.edge !== null && seq > this.edge + this.opts.maxLeap) return;
    if (peer.from === null || seq < peer.from) peer.from = seq;
    this.raiseEdge(seq);
    if (this.playheadSeq !== null && seq < this.playheadSeq) return;
    if (peer.pieces.has(seq)) return;
    // A piece we hold is never looked at by a pass: news of it changes nothing a pass reads.
    if (this.matters(seq)) this.version++;
    peer.pieces.add(seq);
    countHolder(this.avail, seq, 1, peer.isSource ? 0 : 1);
  }

  private removeAvail(peer: PeerState, seq: number): void {
    if (!peer.pieces.delete(seq)) return;
    if (this.matters(seq)) this.version++;
    countHolder(this.avail, seq, -1, peer.isSource ? 0 : -1);
  }

  /**
   * Whether news of who holds seq can change what a pass asks for: not for a
   * piece we hold (a pass skips it), nor for one the last pass found in flight
   * and not yet due for endgame (a replay stops being valid when it is).
   */
  private matters(seq: number): boolean {
    return !this.ours.has(seq) && !this.gated.includes(seq);
  }

  /** How many non-source peers advertise seq. */
  private viewers(seq: number): number {
    return this.avail.get(seq)?.viewers ?? 0;
  }

  private raiseEdge(seq: number): void {
    if (this.edge === null || seq > this.edge) {
      this.edge = seq;
      this.version++;
    }
  }

  private markFailed(seq: number, peerKey: string): void {
    if (this.playheadSeq !== null && seq < this.playheadSeq) return;
    let who = this.failed.get(seq);
    if (!who) this.failed.set(seq, (who = new Set()));
    who.add(peerKey);
  }
}
