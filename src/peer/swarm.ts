/**
 * The swarm as one peer sees it (step e): the listening socket, the peer
 * connections, and the policy modules that decide what to ask for (picker),
 * whom to serve (choker) and how fast (uploader). The same engine runs a
 * viewer and, with role 'source', the broadcaster's seed.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { KeyObject } from 'node:crypto';
import type { Clock, TimerHandle } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import { decodePiece, type LivePiece } from '../core/piece.js';
import type { TokenVerifier } from '../protocol/token.js';
import type { ChannelPeer } from '../protocol/tracker-channel.js';
import { PeerConnection } from './peer-connection.js';
import { noiseKeyPair, openSecureChannel, type ChannelBinding, type NoiseKeyPair, type PeerSocket } from './secure-channel.js';
import { InboundBudget } from './secure-budget.js';
import { LiveWindow } from './live-window.js';
import { PiecePicker, type AssignPeer } from './piece-picker.js';
import { Choker } from './choker.js';
import { TokenBucket } from './token-bucket.js';
import { Uploader, relayPriority, type UploadRequest } from './uploader.js';
import { Downloads, blocksOf } from './downloads.js';
import { RateMeter } from './rate-meter.js';

export interface SwarmOptions {
  infoHash: Buffer;
  program: string;
  peerId: Buffer;
  /** Our own session id: never dial ourselves. */
  sid: string;
  role: 'viewer' | 'source';
  token: () => string;
  clientKey: KeyObject;
  verifier: TokenVerifier;
  clock: Clock;
  /** Verifies every piece. */
  sourceKey: KeyObject;
  pieceLength: number;
  /** Milliseconds of stream per piece (measured by the viewer as it plays). */
  pieceIntervalMs: () => number;
  windowCapacity: number;
  maxPeers: number;
  uploadSlots: number;
  /** Upload cap in bytes per second; null for none. */
  uploadRate: number | null;
  /** Requests one peer may have outstanding, in pieces. */
  maxInFlight?: number;
  /** Source only: peers told of a new piece at once; the others hear of it from them, or later. */
  sourceTier?: number;
  sourceHaveDelayMs?: number;
  /** A revoked peer's connection is closed after this (nothing is sent to it meanwhile). */
  revokeGraceMs?: number;
  /** A viewer asks the source for a piece other viewers hold only when it is due within this. */
  sourceUrgencyMs?: number;
  /**
   * Inbound sockets not yet authenticated (Noise handshake and token exchange
   * under way), at most, in total and per remote address: apart from maxPeers,
   * so idle sockets can neither fill the peer slots nor stop us dialing out.
   * DEFAULTS.peerPendingMax / peerPendingPerAddress.
   */
  pendingMax?: number;
  pendingPerAddress?: number;
  /** DEFAULTS.peerChannelTimeoutMs and peerAuthTimeoutMs. */
  channelTimeoutMs?: number;
  authTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface SwarmEvents {
  /** A verified piece arrived from the network. */
  piece: [LivePiece, { fromSource: boolean }];
  /** A peer sent a piece that failed verification; it was dropped and banned. */
  banned: [{ sid: string; reason: string }];
  peer: [{ sid: string; user: string; role: 'viewer' | 'source' }];
  'peer-left': [{ sid: string; reason: string }];
  /** A peer told us it is leaving (step C), before it closed. */
  leaving: [{ sid: string; reason: string }];
}

interface Peer {
  key: string;
  conn: PeerConnection;
  sid: string;
  isSource: boolean;
  received: RateMeter;
  /** Pieces this peer is known to hold (so we don't send it a redundant have). */
  known: Set<number>;
  /** Its socket is full: nothing more is queued to it until it drains (a peer that never reads costs us nothing). */
  blocked: boolean;
}

export class Swarm extends EventEmitter<SwarmEvents> {
  readonly window: LiveWindow;
  readonly picker: PiecePicker;
  private readonly choker = new Choker();
  private readonly uploader: Uploader;
  private readonly downloads: Downloads;
  private readonly conns = new Set<PeerConnection>();
  private readonly peers = new Map<string, Peer>();
  /** Sessions we dialed whose connection is not authenticated yet (they count against maxPeers). */
  private readonly dialing = new Set<string>();
  /** Inbound sockets not authenticated yet. */
  private readonly inbound: InboundBudget;
  /** Sockets still in their Noise handshake (not in `conns` yet): close() ends them too. */
  private readonly handshaking = new Set<net.Socket>();
  private readonly keyPair: NoiseKeyPair;
  private readonly revoked = new Set<string>();
  private readonly banned = new Set<string>();
  private server: net.Server | null = null;
  private listenPort: number | null = null;
  private ticker: TimerHandle | null = null;
  private chokeTimer: TimerHandle | null = null;
  private readonly timers = new Set<TimerHandle>();
  private tierCursor = 0;
  private closed = false;
  readonly downMeter = new RateMeter();
  readonly upMeter = new RateMeter();
  /** How many times each piece's first block went out from us (our copies of it in the swarm). */
  private readonly sentCopies = new Map<number, number>();
  /** Peer key → the piece whose first block we last sent it (its copy is in progress). */
  private readonly sending = new Map<string, number>();
  bytesFromSource = 0;
  bytesFromPeers = 0;

  constructor(private readonly opts: SwarmOptions) {
    super();
    this.keyPair = noiseKeyPair(opts.clientKey);
    this.inbound = new InboundBudget({
      max: opts.pendingMax ?? DEFAULTS.peerPendingMax,
      maxPerAddress: opts.pendingPerAddress ?? DEFAULTS.peerPendingPerAddress,
    });
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
        if (req.begin === 0) {
          this.sentCopies.set(req.seq, (this.sentCopies.get(req.seq) ?? 0) + 1);
          this.sending.set(key, req.seq);
        }
        return piece.bytes.subarray(req.begin, req.begin + req.length);
      },
      priority: (req, key) => relayPriority(req, this.sentCopies.get(req.seq) ?? 0, this.sending.get(key) === req.seq),
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

  /** The peer port we listen on, once listening. */
  get port(): number | null {
    return this.listenPort;
  }

  /** Inbound sockets not authenticated yet. */
  get pendingInbound(): number {
    return this.inbound.pending;
  }

  peerList(): Array<{ sid: string; isSource: boolean }> {
    return [...this.peers.values()].map((p) => ({ sid: p.sid, isSource: p.isSource }));
  }

  async listen(port: number, host: string): Promise<number> {
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    server.on('error', (err) => this.log(`listen socket: ${err.message}`));
    this.ticker = this.opts.clock.setInterval(() => this.tick(), 50);
    this.chokeTimer = this.opts.clock.setInterval(() => this.rechoke(), 1_000);
    const addr = server.address();
    this.listenPort = typeof addr === 'object' && addr ? addr.port : port;
    return this.listenPort;
  }

  /** Dials peers from a tracker list, up to the connection limit. */
  connect(list: ChannelPeer[]): void {
    for (const p of list) {
      // We dial until half the peer slots are taken and let newcomers dial us for
      // the rest (inbound may use up to twice maxPeers). Only authenticated peers
      // and our own dials count: inbound strangers can't stop us dialing.
      if (this.closed || this.peers.size + this.dialing.size >= this.dialTarget()) return;
      if (p.sid === this.opts.sid || this.peers.has(p.sid) || this.dialing.has(p.sid)) continue;
      if (this.revoked.has(p.sid) || this.banned.has(p.sid)) continue;
      this.dialing.add(p.sid);
      const socket = net.connect({ host: p.ip, port: p.port });
      this.attach(socket, true, once(() => this.dialing.delete(p.sid)), p.key);
    }
  }

  /** Peers we dial for ourselves: half of maxPeers (the connection limit counts both ends' dials). */
  private dialTarget(): number {
    return Math.max(1, Math.ceil(this.opts.maxPeers / 2));
  }

  /** Our token was renewed: every authenticated peer gets it before the old one expires. */
  tokenRenewed(token: string): void {
    for (const p of this.peers.values()) p.conn.sendToken(token);
  }

  /** The source adds the pieces it made. */
  addLocalPiece(piece: LivePiece): void {
    if (!this.window.add(piece)) return;
    this.sentCopies.delete(piece.seq - this.opts.windowCapacity);
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
    for (const socket of this.handshaking) socket.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    const release = this.closed || this.peers.size >= this.opts.maxPeers * 2 ? null : this.inbound.admit(socket.remoteAddress ?? '');
    if (!release) {
      socket.destroy();
      return;
    }
    this.attach(socket, false, release);
  }

  /**
   * Noise handshake first, then the PeerConnection inside the channel.
   * `settled` runs once, when the connection authenticated or ended. A dial
   * to a listed peer whose key the tracker named goes no further than Noise
   * unless that key answered: our token is for the listed session only.
   */
  private attach(socket: net.Socket, outbound: boolean, settled: () => void, expectedKey?: string): void {
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    this.handshaking.add(socket);
    openSecureChannel(socket, {
      initiator: outbound,
      keyPair: this.keyPair,
      clock: this.opts.clock,
      timeoutMs: this.opts.channelTimeoutMs ?? DEFAULTS.peerChannelTimeoutMs,
    }).then(
      (channel) => {
        this.handshaking.delete(socket);
        const impostor = expectedKey !== undefined && channel.binding.remoteStaticKey.toString('base64url') !== expectedKey;
        if (this.closed || impostor) {
          channel.stream.destroy();
          settled();
          if (impostor) this.log(`peer channel refused: ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'} is not the listed session's key`);
          return;
        }
        this.start(channel.stream, channel.binding, settled);
      },
      (err: unknown) => {
        this.handshaking.delete(socket);
        settled();
        this.log(`peer channel failed: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  }

  private start(stream: PeerSocket, binding: ChannelBinding, settled: () => void): void {
    const outbound = binding.initiator;
    const conn = new PeerConnection({
      socket: stream,
      channel: binding,
      infoHash: this.opts.infoHash,
      localPeerId: this.opts.peerId,
      token: this.opts.token,
      clientKey: this.opts.clientKey,
      role: this.opts.role,
      program: this.opts.program,
      verifier: this.opts.verifier,
      clock: this.opts.clock,
      isRevoked: (sid) => this.revoked.has(sid) || this.banned.has(sid),
      ...(this.opts.authTimeoutMs === undefined ? {} : { handshakeTimeoutMs: this.opts.authTimeoutMs }),
    });
    this.conns.add(conn);
    conn.on('refused', (err) => this.log(`refused a peer: ${err.message}`));
    conn.on('authenticated', (remote) => {
      settled();
      this.onAuthenticated(conn, remote, outbound);
    });
    conn.on('close', (reason) => {
      settled();
      this.onClose(conn, reason);
    });
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
    this.sending.delete(peer.key);
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
    this.sentCopies.delete(seq - this.opts.windowCapacity);
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

/** `fn`, callable many times, run at most once. */
function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
