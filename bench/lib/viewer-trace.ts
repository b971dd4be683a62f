/**
 * `--detail`: what one viewer's engine did, second by second and piece by
 * piece, to explain a stall: who unchoked us, who choked us, whom we asked
 * for each late piece and when, when its first `have` came, and whose upload
 * slots were full. It only watches, by wrapping the viewer's picker (the
 * record of haves and requests) and choker from outside; the engine's code
 * is untouched. Times are epoch ms (Date.now), as in the viewer reports.
 */
import type { Viewer } from '../../src/peer/viewer.js';
import type { AssignPeer, PiecePicker } from '../../src/peer/piece-picker.js';
import type { ChokerPeer } from '../../src/peer/choker.js';
import { decodeWindow } from '../../src/peer/bitmap.js';
import type { UploadRequest, UploadTarget } from '../../src/peer/uploader.js';

/** As a relay: how long requested blocks waited in our upload queue, by how old the piece was. */
export const AGE_BUCKETS = [8, 16, 32, Infinity] as const;
export const WAIT_BUCKETS_MS = [100, 250, 500, 1_000, 2_000, 3_000, Infinity] as const;

/** One second of one viewer. */
export interface TraceSample {
  at: number;
  played: number;
  late: number;
  stalledMs: number;
  behindLiveMs: number | null;
  bufferS: number;
  peers: number;
  /** Viewers (not the source) that unchoke us, and whether the source does (the last pass of the picker). */
  unchokedBy: number;
  sourceOpen: boolean;
  /** Our requests outstanding: at viewers, at the source. */
  inFlightPeers: number;
  inFlightSource: number;
  /** Pieces the live edge is ahead of our playhead. */
  lead: number | null;
  /** Bytes received this second from the source and from viewers. */
  fromSourceB: number;
  fromPeersB: number;
  /** Requests released this second: choked by the peer, timed out. */
  chokes: number;
  timeouts: number;
  /** Our own choker, last round: interested peers competing, slots. */
  interested: number;
  slots: number;
  /** Viewers advertising the piece at our playhead: 0 means only the source can serve what we need next. */
  headHolders: number | null;
}

/** One piece as this viewer saw it. [peer, at, source?] entries; peers by their sid's first 8 characters. */
export interface SeqTrace {
  seq: number;
  firstHaveAt: number | null;
  firstSourceHaveAt: number | null;
  /** Viewers that advertised it before we had it. */
  holders: number;
  requests: Array<[string, number, boolean]>;
  /** Requests let go before it came: why, from whom, when. */
  released: Array<['choke' | 'timeout' | 'gone', string, number]>;
  gotAt: number | null;
  gotFrom: string | null;
}

export interface ViewerTraceReport {
  session: string;
  user: string;
  samples: TraceSample[];
  /** Pieces that were late (union of every sample's recentLate), with their trace. */
  late: Array<{ seq: number; dueAt: number; arrivedAt: number | null; trace: SeqTrace | null }>;
  /** Per peer: times it choked us. */
  chokedBy: Record<string, number>;
  /** Where playback started (seq, when, the live edge then), and the pieces from the playhead on at the end (a start that never came). */
  start: { seq: number; at: number; edge: number | null } | null;
  head: SeqTrace[];
  /**
   * As a relay: blocks served, counted by the piece's age when asked (our newest seq minus its seq, AGE_BUCKETS:
   * < 8, < 16, < 32, more) and the time it waited in our upload queue (WAIT_BUCKETS_MS).
   */
  relayWaits: number[][];
}

const short = (sid: string): string => sid.slice(0, 8);

/** The private collaborators the trace watches (cast, not changed). */
interface SwarmInside {
  choker: { decide(peers: readonly ChokerPeer[], slots: number, nowMs: number): Set<string> };
  uploader: {
    enqueue(target: UploadTarget, req: UploadRequest): void;
    deps: { block: (req: UploadRequest, key: string) => Buffer | null };
  };
}

export class ViewerTrace {
  private readonly seqs = new Map<number, SeqTrace>();
  private readonly sourceKeys = new Set<string>();
  private readonly samples: TraceSample[] = [];
  private readonly lateSeen = new Map<number, { seq: number; dueAt: number; arrivedAt: number | null }>();
  private readonly chokedBy: Record<string, number> = {};
  private lastOpen: readonly AssignPeer[] = [];
  private start: ViewerTraceReport['start'] = null;
  private readonly queued = new Map<string, { at: number; age: number }>();
  private readonly relayWaits = AGE_BUCKETS.map(() => WAIT_BUCKETS_MS.map(() => 0));
  private chokes = 0;
  private timeouts = 0;
  private interested = 0;
  private slots = 0;
  private lastSource = 0;
  private lastPeers = 0;
  /** While peerGone / timedOut run, the releases they cause are theirs. */
  private releasing: 'choke' | 'timeout' | 'gone' = 'choke';

  constructor(
    private readonly viewer: Viewer,
    private readonly user: string,
  ) {
    this.wrapPicker(viewer.swarm.picker);
    this.wrapChoker((viewer.swarm as unknown as SwarmInside).choker);
    this.wrapUploader((viewer.swarm as unknown as SwarmInside).uploader);
  }

  private wrapUploader(u: SwarmInside['uploader']): void {
    const enqueue = u.enqueue.bind(u);
    u.enqueue = (target, req) => {
      const newest = this.viewer.swarm.window.newest ?? req.seq;
      this.queued.set(`${target.key}:${req.seq}:${req.begin}`, { at: Date.now(), age: newest - req.seq });
      // Cancelled or cleared requests never reach block(): keep the map bounded.
      if (this.queued.size > 4_096) for (const k of [...this.queued.keys()].slice(0, 1_024)) this.queued.delete(k);
      enqueue(target, req);
    };
    const block = u.deps.block;
    u.deps.block = (req, key) => {
      const id = `${key}:${req.seq}:${req.begin}`;
      const q = this.queued.get(id);
      if (q) {
        this.queued.delete(id);
        const a = AGE_BUCKETS.findIndex((b) => q.age < b);
        const w = WAIT_BUCKETS_MS.findIndex((b) => Date.now() - q.at < b);
        const row = this.relayWaits[a];
        if (row) row[w] = (row[w] ?? 0) + 1;
      }
      return block(req, key);
    };
  }

  private seq(s: number): SeqTrace {
    let t = this.seqs.get(s);
    if (!t) this.seqs.set(s, (t = { seq: s, firstHaveAt: null, firstSourceHaveAt: null, holders: 0, requests: [], released: [], gotAt: null, gotFrom: null }));
    return t;
  }

  private saw(peerKey: string, s: number, now: number): void {
    const t = this.seq(s);
    if (t.gotAt !== null) return;
    if (this.sourceKeys.has(peerKey)) t.firstSourceHaveAt ??= now;
    else {
      t.firstHaveAt ??= now;
      t.holders++;
    }
  }

  private wrapPicker(p: PiecePicker): void {
    const setSource = p.setSource.bind(p);
    p.setSource = (key, isSource = true): void => {
      if (isSource) this.sourceKeys.add(key);
      setSource(key, isSource);
    };
    const peerHave = p.peerHave.bind(p);
    p.peerHave = (key, s): void => {
      this.saw(key, s, Date.now());
      peerHave(key, s);
    };
    const peerWindow = p.peerWindow.bind(p);
    p.peerWindow = (key, base, bits): void => {
      peerWindow(key, base, bits);
      const now = Date.now();
      const from = p.playhead ?? -1;
      for (const s of decodeWindow(base, bits)) if (s >= from) this.saw(key, s, now);
    };
    const requested = p.requested.bind(p);
    p.requested = (s, key, now) => {
      this.seq(s).requests.push([short(key), Date.now(), this.sourceKeys.has(key)]);
      return requested(s, key, now);
    };
    const received = p.received.bind(p);
    p.received = (s, from) => {
      const t = this.seq(s);
      if (t.gotAt === null) {
        t.gotAt = Date.now();
        t.gotFrom = from === undefined ? null : short(from);
      }
      return received(s, from);
    };
    const dropped = (s: number, key: string): void => {
      if (this.releasing === 'choke') this.chokes++;
      if (this.releasing === 'timeout') this.timeouts++;
      this.seqs.get(s)?.released.push([this.releasing, short(key), Date.now()]);
    };
    const releasePeer = p.releasePeer.bind(p);
    p.releasePeer = (key) => {
      const out = releasePeer(key);
      if (this.releasing === 'choke') this.chokedBy[short(key)] = (this.chokedBy[short(key)] ?? 0) + 1;
      for (const r of out) dropped(r.seq, key);
      return out;
    };
    const peerGone = p.peerGone.bind(p);
    p.peerGone = (key) => {
      this.releasing = 'gone';
      try {
        return peerGone(key);
      } finally {
        this.releasing = 'choke';
      }
    };
    const timedOut = p.timedOut.bind(p);
    p.timedOut = (now) => {
      const out = timedOut(now);
      this.releasing = 'timeout';
      for (const r of out) dropped(r.seq, r.peerKey);
      this.releasing = 'choke';
      return out;
    };
    const setPlayhead = p.setPlayhead.bind(p);
    p.setPlayhead = (s) => {
      this.start ??= { seq: s, at: Date.now(), edge: p.liveEdge };
      return setPlayhead(s);
    };
    const assign = p.assign.bind(p);
    p.assign = (peers, o) => {
      this.lastOpen = peers;
      return assign(peers, o);
    };
  }

  private wrapChoker(c: SwarmInside['choker']): void {
    const decide = c.decide.bind(c);
    c.decide = (peers, slots, now) => {
      this.interested = peers.filter((x) => x.interested && !x.isSource).length;
      this.slots = slots;
      return decide(peers, slots, now);
    };
  }

  /** Called once a second. */
  sample(): void {
    const now = Date.now();
    const st = this.viewer.stats();
    const picker = this.viewer.swarm.picker;
    let inFlightPeers = 0;
    let inFlightSource = 0;
    let unchokedBy = 0;
    let sourceOpen = false;
    for (const p of this.lastOpen) {
      if (p.isSource) {
        sourceOpen = true;
        inFlightSource += picker.inFlightCount(p.key);
      } else {
        unchokedBy++;
        inFlightPeers += picker.inFlightCount(p.key);
      }
    }
    const edge = picker.liveEdge;
    const head = picker.playhead;
    this.samples.push({
      at: now,
      played: st.played,
      late: st.late,
      stalledMs: st.stalledMs,
      behindLiveMs: st.behindLiveMs,
      bufferS: Math.round(st.bufferS * 100) / 100,
      peers: st.peers,
      unchokedBy,
      sourceOpen,
      inFlightPeers,
      inFlightSource,
      lead: edge === null || head === null ? null : edge - head,
      fromSourceB: st.bytesFromSource - this.lastSource,
      fromPeersB: st.bytesFromPeers - this.lastPeers,
      chokes: this.chokes,
      timeouts: this.timeouts,
      interested: this.interested,
      slots: this.slots,
      headHolders: head === null ? null : (this.seqs.get(head)?.holders ?? 0),
    });
    this.lastSource = st.bytesFromSource;
    this.lastPeers = st.bytesFromPeers;
    this.chokes = 0;
    this.timeouts = 0;
    for (const l of st.recentLate) this.lateSeen.set(l.seq, l);
  }

  report(): ViewerTraceReport {
    const late = [...this.lateSeen.values()].sort((a, b) => a.seq - b.seq);
    const from = this.viewer.swarm.picker.playhead;
    const head: SeqTrace[] = [];
    if (from !== null) for (let s = from; s < from + 24; s++) head.push(this.seqs.get(s) ?? { seq: s, firstHaveAt: null, firstSourceHaveAt: null, holders: 0, requests: [], released: [], gotAt: null, gotFrom: null });
    return {
      session: this.viewer.sid,
      user: this.user,
      samples: this.samples,
      late: late.map((l) => ({ ...l, trace: this.seqs.get(l.seq) ?? null })),
      chokedBy: this.chokedBy,
      start: this.start,
      head,
      relayWaits: this.relayWaits,
    };
  }
}
