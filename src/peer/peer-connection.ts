/**
 * One authenticated BitTorrent connection to another peer of the swarm, over
 * an encrypted channel (secure-channel.ts) whose Noise handshake is done.
 *
 * Inside it, both sides send the BEP 3 handshake (the dialer first). Then the
 * dialer sends its BEP 10 extended handshake: its token and `gc_auth`, its
 * signature over this channel's transcript (handshake hash, info hash, peer
 * ids, session ids, its side). The acceptor checks the token, that the
 * channel's remote static key is the token's client key, and the proof; only
 * then does it send its own token and proof, which the dialer checks the same
 * way. So a stranger who connects gets no token, and no peer signs anything a
 * stranger chose. Until the remote has checked out any data message from it
 * ends the connection, and nothing we send can carry a piece. That exchange,
 * and the watch on the remote's token expiry (the connection closes at expiry
 * unless a renewed token, same session and key, arrives in a gc_live `token`
 * message first), live in peer-handshake.ts; this module keeps the wire, the
 * flags and the sending.
 *
 * Every connection ends with exactly one `'close'`. One that never got
 * authenticated emits `'refused'` first (with a ClientError code where one
 * fits), unless it was closed locally.
 */
import { EventEmitter } from 'node:events';
import type { TimerHandle } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import { InternalError, ProtocolError } from '../core/errors.js';
import { encodeLiveMessage, gcLive, GC_LIVE, GC_LIVE_LOCAL_ID, type LiveMessage } from '../protocol/live-extension.js';
import { Wire, type BlockRequest } from '../protocol/wire.js';
import { describeRefusal, type RemoteIdentity } from './peer-auth.js';
import { PeerHandshake, type PeerAuthOptions } from './peer-handshake.js';
import type { PeerSocket } from './secure-channel.js';
import { FrameWriter } from './secure-writer.js';

export type { RemoteIdentity } from './peer-auth.js';

/** The channel, identities, token and checks of the authentication (PeerAuthOptions), and: */
export interface PeerConnectionOptions extends PeerAuthOptions {
  /** The encrypted channel's stream (or, in tests, any stream the binding describes). */
  socket: PeerSocket;
  /** Keep-alive period once authenticated (DEFAULTS.peer.keepAliveMs). */
  keepAliveMs?: number;
  /** Close when nothing was received for this long (DEFAULTS.peer.idleTimeoutMs). */
  idleTimeoutMs?: number;
  /** A closed connection's socket lingers this long so its last frames get out (DEFAULTS.peer.closeLingerMs). */
  closeLingerMs?: number;
}

export interface WindowAnnouncement {
  base: number;
  bits: Buffer;
}

export interface PieceRequest {
  seq: number;
  begin: number;
  length: number;
}

export interface PieceBlock {
  seq: number;
  begin: number;
  block: Buffer;
}

export interface PeerConnectionEvents {
  authenticated: [remote: RemoteIdentity];
  /** The connection ended before authentication; `reason` is a ClientError or ProtocolError. */
  refused: [reason: Error];
  window: [window: WindowAnnouncement];
  have: [seq: number];
  request: [request: PieceRequest];
  piece: [piece: PieceBlock];
  cancel: [request: PieceRequest];
  choke: [];
  unchoke: [];
  interested: [];
  'not-interested': [];
  /** The remote is about to disconnect (step C); the connection closes right after. */
  leaving: [reason: string];
  /** The remote sent a renewed token that checked out; the connection now lasts until `expiresAtMs`. */
  'token-renewed': [expiresAtMs: number];
  drain: [];
  close: [reason: string];
}

type DataMessage = 'choke' | 'unchoke' | 'interested' | 'not-interested' | 'have' | 'bitfield' | 'request' | 'piece' | 'cancel';

export class PeerConnection extends EventEmitter<PeerConnectionEvents> {
  private readonly wire = new Wire();
  private readonly socket: PeerSocket;
  private readonly auth: PeerHandshake;
  private ended = false;
  private readonly out: FrameWriter;
  private lastReceivedAt: number;
  private keepAliveTimer: TimerHandle | null = null;
  private flags = { amChoking: true, amInterested: false, remoteChoking: true, remoteInterested: false };
  private bytesUp = 0;
  private bytesDown = 0;

  constructor(private readonly opts: PeerConnectionOptions) {
    super();
    if (opts.infoHash.length !== 20) throw new RangeError('info hash must be 20 bytes');
    if (opts.localPeerId.length !== 20) throw new RangeError('peer id must be 20 bytes');
    this.socket = opts.socket;
    this.out = new FrameWriter(opts.socket);
    this.lastReceivedAt = opts.clock.now();
    this.wireUp();
    this.auth = new PeerHandshake(opts, this.wire, {
      isEnded: () => this.ended,
      fail: (err, notify) => this.fail(err, notify),
      started: () => this.startKeepAlive(),
      authenticated: (identity) => this.emit('authenticated', identity),
      renewed: (expiresAtMs) => this.emit('token-renewed', expiresAtMs),
    });
    if (this.socket.destroyed) {
      process.nextTick(() => this.fail(new ProtocolError('socket already closed'), false));
      return;
    }
    this.auth.open();
  }

  /** The authenticated remote, or null before authentication. */
  private get identity(): RemoteIdentity | null {
    return this.auth.identity;
  }

  // --- state ---------------------------------------------------------------

  get authenticated(): boolean {
    return this.identity !== null && !this.ended;
  }
  get closed(): boolean {
    return this.ended;
  }
  /** True when we dialed (we are the channel's initiator). */
  get outbound(): boolean {
    return this.opts.channel.initiator;
  }
  /** The authenticated remote, or null before authentication. */
  get remote(): RemoteIdentity | null {
    return this.identity;
  }
  get amChoking(): boolean {
    return this.flags.amChoking;
  }
  get amInterested(): boolean {
    return this.flags.amInterested;
  }
  get remoteChoking(): boolean {
    return this.flags.remoteChoking;
  }
  get remoteInterested(): boolean {
    return this.flags.remoteInterested;
  }
  /** Block bytes sent in `piece` messages. */
  get uploaded(): number {
    return this.bytesUp;
  }
  /** Block bytes received in `piece` messages. */
  get downloaded(): number {
    return this.bytesDown;
  }

  // --- sending (only once authenticated) -----------------------------------
  // Each returns false when the stream is full (wait for 'drain'), and
  // false without sending once closed. Calling one before authentication is a
  // bug in the caller and throws InternalError.

  sendWindow(base: number, bits: Buffer): boolean {
    return this.sendLive({ t: 'window', base, bits });
  }

  have(seq: number): boolean {
    return this.send(() => this.wire.have(seq));
  }

  request(seq: number, begin: number, length: number): boolean {
    return this.send(() => this.wire.request(seq, begin, length));
  }

  sendPiece(seq: number, begin: number, block: Buffer): boolean {
    return this.send(() => {
      this.wire.piece(seq, begin, block);
      this.bytesUp += block.length;
    });
  }

  cancel(seq: number, begin: number, length: number): boolean {
    return this.send(() => this.wire.cancel(seq, begin, length));
  }

  choke(): boolean {
    return this.setFlag('amChoking', true, () => this.wire.choke());
  }

  unchoke(): boolean {
    return this.setFlag('amChoking', false, () => this.wire.unchoke());
  }

  interested(): boolean {
    return this.setFlag('amInterested', true, () => this.wire.interested());
  }

  notInterested(): boolean {
    return this.setFlag('amInterested', false, () => this.wire.notInterested());
  }

  /** Step C: tell the remote we are about to disconnect. Does not close. */
  leaving(reason: string): boolean {
    return this.sendLive({ t: 'leaving', reason });
  }

  /** Sends our renewed access token (same session, same key), so the remote keeps the connection past the old expiry. */
  sendToken(token: string): boolean {
    return this.sendLive({ t: 'token', token });
  }

  /** Ends the connection; emits 'close' once. Idempotent. */
  close(reason = 'closed locally'): void {
    if (this.ended) return;
    this.ended = true;
    this.auth.stop();
    this.keepAliveTimer?.cancel();
    this.out.flush();
    this.wire.destroy();
    const s = this.socket;
    if (!s.destroyed) {
      // Flush what is queued (a refusal's `leaving`), then go; don't wait on a peer that stopped reading.
      const linger = this.opts.clock.setTimeout(() => s.destroy(), this.opts.closeLingerMs ?? DEFAULTS.peer.closeLingerMs);
      s.on('close', () => linger.cancel());
      s.end();
    }
    this.emit('close', reason);
  }

  private send(write: () => void): boolean {
    if (this.ended) return false;
    if (!this.identity) throw new InternalError('peer connection is not authenticated yet');
    write();
    return !this.out.blocked;
  }

  /** Nothing goes out to a remote that did not name gc_live in its extended handshake. */
  private sendLive(msg: LiveMessage): boolean {
    return this.send(() => {
      if (this.wire.remoteSupports(GC_LIVE)) this.wire.extended(GC_LIVE, encodeLiveMessage(msg));
    });
  }

  private setFlag(flag: 'amChoking' | 'amInterested', value: boolean, write: () => void): boolean {
    return this.send(() => {
      if (this.flags[flag] === value) return;
      this.flags[flag] = value;
      write();
    });
  }

  // --- receiving -----------------------------------------------------------

  private wireUp(): void {
    const s = this.socket;
    const w = this.wire;
    w.on('data', (bytes) => this.out.push(bytes));
    s.on('data', (chunk: Buffer) => {
      if (this.ended) return;
      this.lastReceivedAt = this.opts.clock.now();
      try {
        w.receive(chunk);
      } catch (err) {
        // A listener threw: end this connection rather than the process, and say why.
        this.fail(new InternalError(`peer connection handler failed: ${describeRefusal(err)}`, { cause: err }), false);
      }
    });
    s.on('drain', () => {
      this.out.drained();
      if (!this.ended) this.emit('drain');
    });
    s.on('end', () => this.fail(new ProtocolError('connection closed by the peer'), false));
    s.on('close', () => this.fail(new ProtocolError('connection closed by the peer'), false));
    s.on('error', (err: Error) => this.fail(new ProtocolError(`socket error: ${err.message}`), false));

    w.on('error', (err) => this.fail(err, true));
    w.on('handshake', (hs) => this.auth.onHandshake(hs));
    // gc_live by name: the token exchange rides its extended handshake, the live messages its own id.
    // Other extensions were never offered in our `m`; their messages are skipped.
    const id = w.use(gcLive({ handshake: (dict) => this.auth.onExtendedHandshake(dict), message: (msg) => this.onLiveMessage(msg) }));
    if (id !== GC_LIVE_LOCAL_ID) throw new InternalError(`gc_live got id ${id}, the handshake names ${GC_LIVE_LOCAL_ID}`);

    w.on('choke', () => this.admit('choke') && this.remoteFlag('remoteChoking', true, 'choke'));
    w.on('unchoke', () => this.admit('unchoke') && this.remoteFlag('remoteChoking', false, 'unchoke'));
    w.on('interested', () => this.admit('interested') && this.remoteFlag('remoteInterested', true, 'interested'));
    w.on('not-interested', () => this.admit('not-interested') && this.remoteFlag('remoteInterested', false, 'not-interested'));
    w.on('have', (index) => this.admit('have') && this.emit('have', index));
    // Live peers announce with gc_live `window`; a bitfield after authentication is ignored.
    w.on('bitfield', () => this.admit('bitfield'));
    w.on('request', (r) => this.admit('request') && this.emit('request', toPieceRequest(r)));
    w.on('cancel', (r) => this.admit('cancel') && this.emit('cancel', toPieceRequest(r)));
    w.on('piece', (p) => {
      if (!this.admit('piece')) return;
      this.bytesDown += p.block.length;
      this.emit('piece', { seq: p.index, begin: p.begin, block: p.block });
    });
  }

  /** Data messages are only accepted from an authenticated remote. */
  private admit(what: DataMessage | 'window' | 'token'): boolean {
    if (this.identity) return true;
    this.fail(new ProtocolError(`peer sent ${what} before authentication`), true);
    return false;
  }

  private remoteFlag(flag: 'remoteChoking' | 'remoteInterested', value: boolean, event: 'choke' | 'unchoke' | 'interested' | 'not-interested'): void {
    this.flags[flag] = value;
    this.emit(event);
  }

  private onLiveMessage(msg: LiveMessage): void {
    switch (msg.t) {
      case 'token':
        if (this.admit('token')) this.auth.onRenewedToken(msg.token);
        return;
      case 'window':
        if (this.admit('window')) this.emit('window', { base: msg.base, bits: msg.bits });
        return;
      case 'leaving':
        if (!this.identity) return this.fail(new ProtocolError(`peer left before authentication: ${msg.reason}`), false);
        this.emit('leaving', msg.reason);
        return this.close(`peer left: ${msg.reason}`);
      case 'revoked':
        // A peer's word that another session was revoked proves nothing, and the tracker tells every
        // member itself (its `revoked` push): an older peer's relay is read and dropped.
        return;
    }
  }

  private startKeepAlive(): void {
    const every = this.opts.keepAliveMs ?? DEFAULTS.peer.keepAliveMs;
    const idle = this.opts.idleTimeoutMs ?? DEFAULTS.peer.idleTimeoutMs;
    this.keepAliveTimer = this.opts.clock.setInterval(() => {
      if (this.opts.clock.now() - this.lastReceivedAt > idle) {
        this.fail(new ProtocolError(`nothing received for ${idle} ms`), true);
      } else {
        this.wire.keepAlive();
      }
    }, every);
  }

  /**
   * Ends the connection because of `err`. Before authentication that is a
   * refusal; `notify` sends the remote a `leaving` naming the reason, when it
   * is still there to read it.
   */
  private fail(err: Error, notify: boolean): void {
    if (this.ended) return;
    const reason = describeRefusal(err);
    if (notify && !this.wire.destroyed) {
      this.wire.extended(GC_LIVE, encodeLiveMessage({ t: 'leaving', reason: this.identity ? reason : `refused: ${reason}` }));
    }
    if (!this.identity) this.emit('refused', err);
    this.close(reason);
  }
}

function toPieceRequest(r: BlockRequest): PieceRequest {
  return { seq: r.index, begin: r.begin, length: r.length };
}
