/**
 * The swarm as one peer sees it (step e), composed from the parts it is
 * given or builds: the transport (TCP or in memory) and the connection
 * manager above it, the policy modules that decide what to ask for (picker),
 * whom to serve (choker) and how fast (uploader). The same engine runs a
 * viewer and, with role 'source', the broadcaster's seed. Every timer is on
 * the injected clock; every timing and limit comes from DEFAULTS.peer.
 */
import { EventEmitter } from 'node:events';
import type { TimerHandle } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import type { LivePiece } from '../core/piece.js';
import type { ChannelPeer } from '../protocol/tracker-channel.js';
import { Announcer } from './announcer.js';
import { ConnectionManager } from './connection-manager.js';
import type { Peer, PeerSettings, SwarmEvents, SwarmOptions } from './swarm-types.js';
import type { PeerLink, Transport } from './transport.js';
import { LiveWindow } from './live-window.js';
import { PiecePicker } from './piece-picker.js';
import { Choker } from './choker.js';
import { TokenBucket } from './token-bucket.js';
import { Uploader, type UploadRequest, type UploadTarget } from './uploader.js';
import { RelayCopies } from './relay-copies.js';
import { RateMeter } from './rate-meter.js';
import { RequestScheduler } from './request-scheduler.js';
import { SeqSet } from './seq-set.js';

export type { PeerSettings, SwarmEvents, SwarmOptions } from './swarm-types.js';

export class Swarm extends EventEmitter<SwarmEvents> {
  readonly window: LiveWindow;
  readonly picker: PiecePicker;
  readonly transport: Transport;
  private readonly settings: PeerSettings;
  private readonly choker: Choker;
  private readonly uploader: Uploader;
  private readonly requests: RequestScheduler;
  private readonly announcer: Announcer;
  private readonly conns: ConnectionManager;
  private readonly peers = new Map<string, Peer>();
  private ticker: TimerHandle | null = null;
  private chokeTimer: TimerHandle | null = null;
  private readonly timers = new Set<TimerHandle>();
  private closed = false;
  /** Sessions revoked so far: while none is, the per-message revocation check costs nothing. */
  private revocations = 0;
  readonly downMeter = new RateMeter();
  readonly upMeter = new RateMeter();
  private readonly copies = new RelayCopies();
  bytesFromSource = 0;
  bytesFromPeers = 0;
  /** Bytes received from each remote session, kept after it leaves: whom this peer got pieces from. */
  private readonly receivedBySid = new Map<string, number>();

  constructor(private readonly opts: SwarmOptions) {
    super();
    const s: PeerSettings = { ...DEFAULTS.peer, ...opts.peer };
    this.settings = s;
    this.transport = opts.transport;
    this.conns = new ConnectionManager({
      sid: opts.sid,
      maxPeers: opts.maxPeers,
      transport: opts.transport,
      up: (link) => this.onUp(link),
      down: (link, reason) => this.onDown(link, reason),
      log: (line) => this.log(line),
    });
    this.window = new LiveWindow(opts.windowCapacity);
    this.picker = new PiecePicker({
      requestTimeoutMs: s.requestTimeoutMs,
      urgencyHorizonMs: s.urgencyHorizonMs,
      sourceUrgencyMs: s.sourceUrgencyMs,
      endgameMs: s.endgameMs,
      endgameAfterMs: s.endgameAfterMs,
      maxRequestsPerPiece: s.maxRequestsPerPiece,
      maxLookahead: s.maxLookahead,
      maxLeap: s.maxLeap,
      pieceLength: opts.pieceLength,
    });
    this.choker = new Choker({ optimisticIntervalMs: s.optimisticUnchokeMs, ...(opts.random ? { random: opts.random } : {}) });
    const isRevoked = (sid: string): boolean => this.isRevoked(sid);
    this.requests = new RequestScheduler({
      picker: this.picker,
      clock: opts.clock,
      settings: s,
      pieceIntervalMs: opts.pieceIntervalMs,
      peers: () => this.peers.values(),
      peer: (key) => this.peers.get(key),
      isRevoked,
    });
    this.announcer = new Announcer({
      role: opts.role,
      tier: opts.sourceTier ?? s.sourceTier,
      delayMs: s.sourceHaveDelayMs,
      later: (fn, ms) => this.later(fn, ms),
      isRevoked,
    });
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
      maxQueue: s.uploadQueueMax,
    });
  }

  /** The transport, under the name callers read its port by (`swarm.links.port`). */
  get links(): Transport {
    return this.transport;
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

  /** Starts accepting peers and the swarm's timers; returns the port peers reach us on (null where there are none). */
  async start(): Promise<number | null> {
    const port = await this.transport.listen(this.conns);
    this.ticker = this.opts.clock.setInterval(() => this.requests.tick(), this.settings.tickMs);
    this.chokeTimer = this.opts.clock.setInterval(() => this.rechoke(), this.settings.rechokeMs);
    return port;
  }

  /** Dials peers from a tracker list, up to the connection limit. */
  connect(list: ChannelPeer[]): void {
    if (!this.closed) this.conns.connect(list);
  }

  /** Our token was renewed: every authenticated peer gets it before the old one expires. */
  tokenRenewed(token: string): void {
    for (const p of this.peers.values()) p.link.sendToken(token);
  }

  /** The source adds the pieces it made. */
  addLocalPiece(piece: LivePiece): void {
    if (!this.window.add(piece)) return;
    this.copies.forgetPiece(piece.seq - this.opts.windowCapacity);
    this.requests.release(this.picker.received(piece.seq));
    this.announcer.announce(piece.seq, null, this.peers.values());
  }

  setPlayhead(seq: number): void {
    this.requests.release(this.picker.setPlayhead(seq));
  }

  /** Enforcement: drop and refuse this session from now on. */
  revoke(sid: string): void {
    if (!this.conns.revoke(sid)) return;
    this.revocations++;
    this.requests.peersChanged();
    const p = this.peers.get(sid);
    if (!p) return;
    // Nothing more goes to it from now on; the connection stays open a moment
    // only so its `leaving` (step C) can still be heard, then it is dropped.
    p.link.choke();
    this.uploader.clear(p.key);
    this.requests.release(this.picker.peerGone(p.key));
    this.later(() => p.link.close('session revoked'), this.opts.revokeGraceMs ?? DEFAULTS.revokeGraceMs);
  }

  /** Step C: tell every connected peer we are about to go. */
  leaveAll(reason: string): void {
    for (const p of this.peers.values()) p.link.leaving(reason);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    this.ticker?.cancel();
    this.chokeTimer?.cancel();
    this.uploader.stop();
    this.requests.stop();
    this.conns.closeAll('shutting down');
    await this.transport.close();
  }

  /** A one-shot timer that close() cancels. */
  private later(fn: () => void, ms: number): void {
    const handle = this.opts.clock.setTimeout(() => {
      this.timers.delete(handle);
      fn();
    }, ms);
    this.timers.add(handle);
  }

  /** A link the connection manager kept: the peer's messages drive the picker and the uploader from now on. */
  private onUp(link: PeerLink): void {
    const remote = link.remote;
    const peer: Peer = { key: remote.sid, link, sid: remote.sid, isSource: remote.role === 'source', received: new RateMeter(), known: new SeqSet(), blocked: false, upload: null };
    this.peers.set(remote.sid, peer);
    this.requests.peersChanged();
    this.picker.setSource(peer.key, peer.isSource);
    this.emit('peer', { sid: remote.sid, user: remote.user, role: remote.role });

    const revoked = (): boolean => this.isRevoked(peer.sid);
    link.on('window', ({ base, bits }) => {
      if (revoked()) return;
      this.picker.peerWindow(peer.key, base, bits);
      this.requests.schedule();
    });
    link.on('have', (seq) => {
      if (revoked()) return;
      peer.known.add(seq);
      if (peer.known.size > 4 * this.opts.windowCapacity) peer.known.clear();
      this.picker.peerHave(peer.key, seq);
      // Most haves name a piece we already hold or are fetching, or come from a peer that chokes us (it cannot be
      // asked): no pass of the picker for those (the tick covers endgame; its unchoke brings a pass).
      if (!link.remoteChoking && !this.picker.has(seq) && !this.picker.isInFlight(seq)) this.requests.schedule();
    });
    link.on('unchoke', () => {
      this.requests.peersChanged();
      this.requests.schedule();
    });
    // A newcomer waits for no rechoke round while a slot is free: startup is measured in milliseconds.
    const admitNewcomer = (): void => {
      if (this.opts.role === 'viewer' && link.remoteInterested && link.amChoking && this.unchokedCount() < this.opts.uploadSlots) link.unchoke();
    };
    link.on('interested', admitNewcomer);
    link.on('choke', () => {
      this.requests.peersChanged();
      this.requests.release(this.picker.releasePeer(peer.key));
    });
    link.on('request', (req) => this.onRequest(peer, req));
    link.on('cancel', (req) => this.uploader.cancel(peer.key, req));
    link.on('piece', ({ seq, begin, block }) => this.onBlock(peer, seq, begin, block));
    link.on('leaving', (reason) => this.emit('leaving', { sid: peer.sid, reason }));
    link.on('drain', () => {
      peer.blocked = false;
      this.uploader.pump();
    });

    const { base, bits } = this.window.toWindow();
    link.sendWindow(base, bits);
    if (this.opts.role === 'viewer') link.interested();
    if (this.opts.role === 'source') link.unchoke();
    admitNewcomer();
  }

  private onDown(link: PeerLink, reason: string): void {
    const peer = this.peers.get(link.remote.sid);
    if (!peer || peer.link !== link) return;
    this.peers.delete(peer.key);
    this.requests.peersChanged();
    this.copies.forgetPeer(peer.key);
    this.uploader.clear(peer.key);
    this.requests.release(this.picker.peerGone(peer.key));
    this.emit('peer-left', { sid: peer.sid, reason });
    this.requests.schedule();
  }

  private onRequest(peer: Peer, req: UploadRequest): void {
    if (peer.link.amChoking || this.isRevoked(peer.sid)) return;
    if (req.length <= 0 || req.begin < 0 || req.begin + req.length > this.opts.pieceLength) {
      peer.link.close('request outside the piece');
      return;
    }
    if (!this.window.has(req.seq)) return;
    this.uploader.enqueue(this.uploadTarget(peer), req);
  }

  /** Where the uploader sends a peer's blocks: made once per peer, not per request. */
  private uploadTarget(peer: Peer): UploadTarget {
    if (peer.upload) return peer.upload;
    peer.upload = {
      key: peer.key,
      writable: () => !peer.link.closed && !peer.blocked,
      send: (r, block) => {
        this.upMeter.add(block.length, this.opts.clock.now());
        const ok = peer.link.sendPiece(r.seq, r.begin, block);
        if (!ok) peer.blocked = true;
        return ok;
      },
    };
    return peer.upload;
  }

  /** Bytes received so far from each remote session (read-only view). */
  bytesReceivedFrom(): ReadonlyMap<string, number> {
    return this.receivedBySid;
  }

  private onBlock(peer: Peer, seq: number, begin: number, block: Buffer): void {
    const now = this.opts.clock.now();
    peer.received.add(block.length, now);
    this.downMeter.add(block.length, now);
    if (peer.isSource) this.bytesFromSource += block.length;
    else this.bytesFromPeers += block.length;
    this.receivedBySid.set(peer.sid, (this.receivedBySid.get(peer.sid) ?? 0) + block.length);
    const done = this.picker.block(seq, peer.key, begin, block);
    if (done === null) return;
    if (done === 'unexpected') return; // late block of a cancelled request: harmless
    let piece: LivePiece;
    try {
      piece = this.opts.checkPiece(seq, done);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.conns.ban(peer.sid);
      this.requests.release(this.picker.requestFailed(seq, peer.key));
      this.log(`banned ${peer.sid}: ${reason}`);
      peer.link.close(`bad piece: ${reason}`);
      this.emit('banned', { sid: peer.sid, reason });
      this.requests.schedule();
      return;
    }
    this.requests.release(this.picker.received(seq, peer.key));
    if (!this.window.add(piece)) return;
    this.copies.forgetPiece(seq - this.opts.windowCapacity);
    this.emit('piece', piece, { fromSource: peer.isSource });
    this.announcer.announce(seq, peer.key, this.peers.values());
    this.requests.schedule();
  }

  private isRevoked(sid: string): boolean {
    return this.revocations > 0 && this.conns.isRevoked(sid);
  }

  private unchokedCount(): number {
    let n = 0;
    for (const p of this.peers.values()) if (!p.link.amChoking && !p.isSource) n++;
    return n;
  }

  private rechoke(): void {
    const now = this.opts.clock.now();
    const list = [...this.peers.values()].filter((p) => !this.isRevoked(p.sid));
    if (this.opts.role === 'source') {
      for (const p of list) if (p.link.amChoking) p.link.unchoke();
      return;
    }
    const unchoke = this.choker.decide(
      list.map((p) => ({ key: p.key, interested: p.link.remoteInterested, downloadedFromThemRate: p.received.rate(now), isSource: p.isSource })),
      this.opts.uploadSlots,
      now,
    );
    for (const p of list) {
      if (unchoke.has(p.key)) {
        if (p.link.amChoking) p.link.unchoke();
      } else if (!p.link.amChoking) {
        p.link.choke();
        this.uploader.clear(p.key);
      }
    }
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }
}
