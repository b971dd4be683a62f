/**
 * The swarm as one peer sees it (step e): the peer connections (made by
 * PeerLinks: listening, dialing, the encrypted channel), and the policy modules that decide what to ask for (picker),
 * whom to serve (choker) and how fast (uploader). The same engine runs a
 * viewer and, with role 'source', the broadcaster's seed.
 */
import { EventEmitter } from 'node:events';
import type { TimerHandle } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import { decodePiece, type LivePiece } from '../core/piece.js';
import type { ChannelPeer } from '../protocol/tracker-channel.js';
import type { PeerConnection } from './peer-connection.js';
import { PeerLinks } from './peer-links.js';
import type { Peer, SwarmEvents, SwarmOptions } from './swarm-types.js';
import { LiveWindow } from './live-window.js';
import { PiecePicker, type AssignPeer } from './piece-picker.js';
import { Choker } from './choker.js';
import { TokenBucket } from './token-bucket.js';
import { Uploader, type UploadRequest } from './uploader.js';
import { RelayCopies } from './relay-copies.js';
import { Downloads, blocksOf } from './downloads.js';
import { RateMeter } from './rate-meter.js';

export type { SwarmEvents, SwarmOptions } from './swarm-types.js';

export class Swarm extends EventEmitter<SwarmEvents> {
  readonly window: LiveWindow;
  readonly picker: PiecePicker;
  private readonly choker = new Choker();
  private readonly uploader: Uploader;
  private readonly downloads: Downloads;
  private readonly conns = new Set<PeerConnection>();
  private readonly peers = new Map<string, Peer>();
  /** Connection management: the peer port (`links.port`), dials, the budget of unauthenticated sockets. */
  readonly links: PeerLinks;
  private readonly revoked = new Set<string>();
  private readonly banned = new Set<string>();
  private ticker: TimerHandle | null = null;
  private chokeTimer: TimerHandle | null = null;
  private readonly timers = new Set<TimerHandle>();
  private tierCursor = 0;
  private closed = false;
  readonly downMeter = new RateMeter();
  readonly upMeter = new RateMeter();
  private readonly copies = new RelayCopies();
  bytesFromSource = 0;
  bytesFromPeers = 0;

  constructor(private readonly opts: SwarmOptions) {
    super();
    const peerCount = (): number => this.peers.size;
    const hasPeer = (sid: string): boolean => this.peers.has(sid);
    const refused = (sid: string): boolean => this.revoked.has(sid) || this.banned.has(sid);
    this.links = new PeerLinks({ opts, peerCount, hasPeer, refused, connection: (c, out) => this.adopt(c, out), log: (l) => this.log(l) });
    this.window = new LiveWindow(opts.windowCapacity);
    // A fresh piece asked of a peer that has not delivered within 250 ms is asked of a
    // second holder too (whichever answers first wins; the other gets a cancel).
    this.picker = new PiecePicker({ sourceUrgencyMs: opts.sourceUrgencyMs ?? 400, endgameAfterMs: 250 });
    this.downloads = new Downloads(opts.pieceLength);
    this.uploader = new Uploader({
      bucket: new TokenBucket(opts.uploadRate, opts.uploadRate === null ? undefined : Math.max(opts.pieceLength, Math.floor(opts.uploadRate / 4))),
      clock: opts.clock,
      block: (req, key) => {
        const piece = this.window.get(req.seq);
        if (!piece || req.begin + req.length > piece.bytes.length) return null;
        this.copies.sent(req, key);
        return piece.bytes.subarray(req.begin, req.begin + req.length);
      },
      priority: (req, key) => this.copies.priority(req, key),
    });
  }

  get peerIdHex(): string {
    return this.opts.peerId.toString('hex');
  }

  get uploaded(): number {
    return this.uploader.uploaded;
  }

  get peerCount(): number {
    return this.peers.size;
  }

  peerList(): Array<{ sid: string; isSource: boolean }> {
    return [...this.peers.values()].map((p) => ({ sid: p.sid, isSource: p.isSource }));
  }

  async listen(port: number, host: string): Promise<number> {
    const bound = await this.links.listen(port, host);
    this.ticker = this.opts.clock.setInterval(() => this.tick(), 50);
    this.chokeTimer = this.opts.clock.setInterval(() => this.rechoke(), 1_000);
    return bound;
  }

  /** Dials peers from a tracker list, up to the connection limit. */
  connect(list: ChannelPeer[]): void {
    if (!this.closed) this.links.connect(list);
  }

  /** Our token was renewed: every authenticated peer gets it before the old one expires. */
  tokenRenewed(token: string): void {
    for (const p of this.peers.values()) p.conn.sendToken(token);
  }

  /** The source adds the pieces it made. */
  addLocalPiece(piece: LivePiece): void {
    if (!this.window.add(piece)) return;
    this.copies.forgetPiece(piece.seq - this.opts.windowCapacity);
    this.picker.received(piece.seq);
    this.announce(piece.seq, null);
  }

  setPlayhead(seq: number): void {
    for (const ref of this.picker.setPlayhead(seq)) this.abandon(ref.seq, ref.peerKey);
  }

  /** Enforcement: drop and refuse this session from now on. */
  revoke(sid: string): void {
    if (this.revoked.has(sid)) return;
    this.revoked.add(sid);
    const p = this.peers.get(sid);
    if (!p) return;
    // Nothing more goes to it from now on; the connection stays open a moment
    // only so its `leaving` (step C) can still be heard, then it is dropped.
    p.conn.choke();
    this.uploader.clear(p.key);
    for (const seq of this.downloads.dropPeer(p.key)) this.picker.requestFailed(seq, p.key);
    this.picker.peerGone(p.key);
    this.later(() => p.conn.close('session revoked'), this.opts.revokeGraceMs ?? DEFAULTS.revokeGraceMs);
  }

  /** Step C: tell every connected peer we are about to go. */
  leaveAll(reason: string): void {
    for (const p of this.peers.values()) p.conn.leaving(reason);
  }

  /** A one-shot timer that close() cancels. */
  private later(fn: () => void, ms: number): void {
    const handle = this.opts.clock.setTimeout(() => {
      this.timers.delete(handle);
      fn();
    }, ms);
    this.timers.add(handle);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    this.ticker?.cancel();
    this.chokeTimer?.cancel();
    this.uploader.stop();
    for (const c of this.conns) c.close('shutting down');
    await this.links.close();
  }

  /** A connection whose channel is up (PeerLinks): the swarm hears of it once the remote is authenticated. */
  private adopt(conn: PeerConnection, outbound: boolean): void {
    this.conns.add(conn);
    conn.on('authenticated', (remote) => this.onAuthenticated(conn, remote, outbound));
    conn.on('close', (reason) => this.onClose(conn, reason));
  }

  private onAuthenticated(conn: PeerConnection, remote: { sid: string; user: string; role: 'viewer' | 'source' }, outbound: boolean): void {
    const existing = this.peers.get(remote.sid);
    if (existing) {
      // Both sides dialled: keep the connection opened by the smaller sid, so both ends agree.
      const keepNew = (outbound ? this.opts.sid : remote.sid) < (outbound ? remote.sid : this.opts.sid);
      if (!keepNew) {
        conn.close('duplicate connection');
        return;
      }
      existing.conn.close('duplicate connection');
      this.forget(existing);
    }
    const peer: Peer = { key: remote.sid, conn, sid: remote.sid, isSource: remote.role === 'source', received: new RateMeter(), known: new Set(), blocked: false };
    this.peers.set(remote.sid, peer);
    this.picker.setSource(peer.key, peer.isSource);
    this.emit('peer', remote);

    conn.on('window', ({ base, bits }) => {
      if (this.revoked.has(peer.sid)) return;
      this.picker.peerWindow(peer.key, base, bits);
      this.schedule();
    });
    conn.on('have', (seq) => {
      if (this.revoked.has(peer.sid)) return;
      peer.known.add(seq);
      if (peer.known.size > 4 * this.opts.windowCapacity) peer.known.clear();
      this.picker.peerHave(peer.key, seq);
      // Most haves name a piece we already hold or are fetching: no pass of the picker for those (the tick covers endgame).
      if (!this.picker.has(seq) && !this.picker.isInFlight(seq)) this.schedule();
    });
    conn.on('unchoke', () => this.schedule());
    // A newcomer waits for no rechoke round while a slot is free: startup is measured in milliseconds.
    const admitNewcomer = (): void => {
      if (this.opts.role === 'viewer' && conn.remoteInterested && conn.amChoking && this.unchokedCount() < this.opts.uploadSlots) conn.unchoke();
    };
    conn.on('interested', admitNewcomer);
    conn.on('choke', () => {
      this.downloads.dropPeer(peer.key);
      this.picker.releasePeer(peer.key);
    });
    conn.on('request', (req) => this.onRequest(peer, req));
    conn.on('cancel', (req) => this.uploader.cancel(peer.key, req));
    conn.on('piece', ({ seq, begin, block }) => this.onBlock(peer, seq, begin, block));
    conn.on('leaving', (reason) => this.emit('leaving', { sid: peer.sid, reason }));
    conn.on('drain', () => {
      peer.blocked = false;
      this.uploader.pump();
    });

    const { base, bits } = this.window.toWindow();
    conn.sendWindow(base, bits);
    if (this.opts.role === 'viewer') conn.interested();
    if (this.opts.role === 'source') conn.unchoke();
    admitNewcomer();
  }

  private onClose(conn: PeerConnection, reason: string): void {
    this.conns.delete(conn);
    const remote = conn.remote;
    if (!remote) return;
    const peer = this.peers.get(remote.sid);
    if (!peer || peer.conn !== conn) return;
    this.forget(peer);
    this.emit('peer-left', { sid: peer.sid, reason });
    this.schedule();
  }

  private forget(peer: Peer): void {
    this.peers.delete(peer.key);
    this.copies.forgetPeer(peer.key);
    this.uploader.clear(peer.key);
    this.downloads.dropPeer(peer.key);
    this.picker.peerGone(peer.key);
  }

  private onRequest(peer: Peer, req: UploadRequest): void {
    if (peer.conn.amChoking || this.revoked.has(peer.sid)) return;
    if (req.length <= 0 || req.begin < 0 || req.begin + req.length > this.opts.pieceLength) {
      peer.conn.close('request outside the piece');
      return;
    }
    if (!this.window.has(req.seq)) return;
    this.uploader.enqueue(
      {
        key: peer.key,
        writable: () => !peer.conn.closed && !peer.blocked,
        send: (r, block) => {
          this.upMeter.add(block.length, this.opts.clock.now());
          const ok = peer.conn.sendPiece(r.seq, r.begin, block);
          if (!ok) peer.blocked = true;
          return ok;
        },
      },
      req,
    );
  }

  private onBlock(peer: Peer, seq: number, begin: number, block: Buffer): void {
    const now = this.opts.clock.now();
    peer.received.add(block.length, now);
    this.downMeter.add(block.length, now);
    if (peer.isSource) this.bytesFromSource += block.length;
    else this.bytesFromPeers += block.length;
    const done = this.downloads.block(seq, peer.key, begin, block);
    if (done === null) return;
    if (done === 'unexpected') return; // late block of a cancelled request: harmless
    let piece: LivePiece;
    try {
      // `done` is this download's own buffer, dropped from Downloads below: no copy needed.
      piece = decodePiece(done, seq, this.opts.infoHash, this.opts.sourceKey);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.downloads.drop(seq, peer.key);
      this.picker.requestFailed(seq, peer.key);
      this.banned.add(peer.sid);
      this.log(`banned ${peer.sid}: ${reason}`);
      peer.conn.close(`bad piece: ${reason}`);
      this.emit('banned', { sid: peer.sid, reason });
      this.schedule();
      return;
    }
    for (const other of this.downloads.finish(seq)) {
      if (other === peer.key) continue;
      const o = this.peers.get(other);
      if (o) for (const b of blocksOf(this.opts.pieceLength)) o.conn.cancel(seq, b.begin, b.length);
    }
    this.picker.received(seq, peer.key);
    if (!this.window.add(piece)) return;
    this.copies.forgetPiece(seq - this.opts.windowCapacity);
    this.emit('piece', piece, { fromSource: peer.isSource });
    this.announce(seq, peer.key);
    this.schedule();
  }

  /** Tells peers we hold `seq`: everyone for a viewer; a rotating tier first for the source. */
  private announce(seq: number, fromKey: string | null): void {
    if (this.opts.role === 'source') {
      const viewers = [...this.peers.values()].filter((p) => !p.isSource && !this.revoked.has(p.sid));
      const tier = Math.min(viewers.length, this.opts.sourceTier ?? 1);
      const first = new Set<string>();
      for (let i = 0; i < tier; i++) {
        const p = viewers[(this.tierCursor + i) % viewers.length];
        if (p) first.add(p.key);
      }
      this.tierCursor = viewers.length ? (this.tierCursor + tier) % viewers.length : 0;
      for (const p of viewers) if (first.has(p.key)) p.conn.have(seq);
      const rest = viewers.filter((p) => !first.has(p.key));
      if (rest.length === 0) return;
      this.later(() => {
        for (const p of rest) if (!p.conn.closed && !p.known.has(seq)) p.conn.have(seq);
      }, this.opts.sourceHaveDelayMs ?? 1_000);
      return;
    }
    for (const p of this.peers.values()) {
      if (p.key === fromKey || p.known.has(seq) || p.isSource || this.revoked.has(p.sid)) continue;
      p.conn.have(seq);
    }
  }

  private scheduled = false;
  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    // Once per turn of the event loop, after every socket read of this turn:
    // a burst of haves from many peers costs one pass of the picker, not one each.
    setImmediate(() => {
      this.scheduled = false;
      this.requestPieces();
    });
  }

  private tick(): void {
    for (const ref of this.picker.timedOut(this.opts.clock.now())) this.abandon(ref.seq, ref.peerKey);
    this.requestPieces();
  }

  private abandon(seq: number, peerKey: string): void {
    if (!this.downloads.has(seq, peerKey)) return;
    this.downloads.drop(seq, peerKey);
    const p = this.peers.get(peerKey);
    if (p) for (const b of blocksOf(this.opts.pieceLength)) p.conn.cancel(seq, b.begin, b.length);
  }

  private requestPieces(): void {
    if (this.opts.role === 'source' || this.picker.playhead === null) return;
    const now = this.opts.clock.now();
    const open: AssignPeer[] = [];
    for (const peer of this.peers.values()) {
      if (peer.conn.remoteChoking || this.revoked.has(peer.sid)) continue;
      // The source is everyone's last resort: one piece at a time from it keeps its queue short.
      open.push({ key: peer.key, maxInFlight: peer.isSource ? 1 : (this.opts.maxInFlight ?? 3), isSource: peer.isSource });
    }
    for (const { seq, peerKey } of this.picker.assign(open, { nowMs: now, pieceIntervalMs: this.opts.pieceIntervalMs() })) {
      const peer = this.peers.get(peerKey);
      if (!peer) continue;
      this.picker.requested(seq, peerKey, now);
      this.downloads.start(seq, peerKey);
      for (const b of blocksOf(this.opts.pieceLength)) peer.conn.request(seq, b.begin, b.length);
    }
  }

  private unchokedCount(): number {
    let n = 0;
    for (const p of this.peers.values()) if (!p.conn.amChoking && !p.isSource) n++;
    return n;
  }

  private rechoke(): void {
    const now = this.opts.clock.now();
    const list = [...this.peers.values()].filter((p) => !this.revoked.has(p.sid));
    if (this.opts.role === 'source') {
      for (const p of list) if (p.conn.amChoking) p.conn.unchoke();
      return;
    }
    const unchoke = this.choker.decide(
      list.map((p) => ({ key: p.key, interested: p.conn.remoteInterested, downloadedFromThemRate: p.received.rate(now), isSource: p.isSource })),
      this.opts.uploadSlots,
      now,
    );
    for (const p of list) {
      if (unchoke.has(p.key)) {
        if (p.conn.amChoking) p.conn.unchoke();
      } else if (!p.conn.amChoking) {
        p.conn.choke();
        this.uploader.clear(p.key);
      }
    }
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }
}
