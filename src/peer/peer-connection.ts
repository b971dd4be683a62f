/**
 * One authenticated BitTorrent connection to another peer of the swarm.
 *
 * Both sides send the BEP 3 handshake (the dialer first), then the BEP 10
 * extended handshake carrying the gc_live token and a fresh nonce. Each side
 * verifies the other's token, then proves possession of its own client key by
 * signing the other's nonce (`auth`). Only when the remote's token *and* proof
 * check out is `'authenticated'` emitted; until then any data message from the
 * remote ends the connection, and nothing we send can carry a piece.
 *
 * Every connection ends with exactly one `'close'`. One that never got
 * authenticated emits `'refused'` first (with a ClientError code where one
 * fits), unless it was closed locally.
 */
import { EventEmitter } from 'node:events';
import { randomBytes, type KeyObject } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Clock, TimerHandle } from '../core/clock.js';
import { ClientError, InternalError, ProtocolError } from '../core/errors.js';
import type { AccessClaims, TokenRole } from '../core/token.js';
import {
  decodeLiveHandshake,
  decodeLiveMessage,
  encodeLiveHandshake,
  encodeLiveMessage,
  GC_LIVE_LOCAL_ID,
  NONCE_BYTES,
  signPeerAuth,
  type LiveHandshake,
  type LiveMessage,
} from '../protocol/live-extension.js';
import type { TokenVerifier } from '../protocol/token.js';
import type { BDict } from '../protocol/wire-bencode.js';
import { Wire, type BlockRequest, type Handshake } from '../protocol/wire.js';
import { checkProof, checkRemoteHandshake, describeRefusal, unverifiedSid, type RemoteIdentity } from './peer-auth.js';

export type { RemoteIdentity } from './peer-auth.js';

export interface PeerConnectionOptions {
  socket: Duplex;
  infoHash: Buffer;
  localPeerId: Buffer;
  /** The current access token; read when the extended handshake is sent. */
  token: () => string;
  /** Private Ed25519 key the token's `ckey` names. */
  clientKey: KeyObject;
  role: TokenRole;
  program: string;
  verifier: TokenVerifier;
  clock: Clock;
  isRevoked: (sid: string) => boolean;
  /** True when we dialed: we send the BEP 3 handshake first. */
  outbound: boolean;
  /** Time allowed from construction to authentication (default 5000). */
  handshakeTimeoutMs?: number;
  /** Keep-alive period once authenticated (default 30000). */
  keepAliveMs?: number;
  /** Close when nothing was received for this long (default 120000). */
  idleTimeoutMs?: number;
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
  /** The remote relays that session `sid` was revoked: a hint to check, not proof. */
  revoked: [sid: string];
  drain: [];
  close: [reason: string];
}

type DataMessage = 'choke' | 'unchoke' | 'interested' | 'not-interested' | 'have' | 'bitfield' | 'request' | 'piece' | 'cancel';

const CLOSE_LINGER_MS = 2_000;

export class PeerConnection extends EventEmitter<PeerConnectionEvents> {
  private readonly wire = new Wire();
  private readonly socket: Duplex;
  private readonly nonce = randomBytes(NONCE_BYTES);
  private readonly localSid: string | null;
  private remotePeerId: Buffer | null = null;
  private remoteLive: LiveHandshake | null = null;
  private claims: AccessClaims | null = null;
  private identity: RemoteIdentity | null = null;
  private ended = false;
  private lastWriteOk = true;
  private lastReceivedAt: number;
  private authTimer: TimerHandle | null;
  private keepAliveTimer: TimerHandle | null = null;
  private flags = { amChoking: true, amInterested: false, remoteChoking: true, remoteInterested: false };
  private bytesUp = 0;
  private bytesDown = 0;

  constructor(private readonly opts: PeerConnectionOptions) {
    super();
    if (opts.infoHash.length !== 20) throw new RangeError('info hash must be 20 bytes');
    if (opts.localPeerId.length !== 20) throw new RangeError('peer id must be 20 bytes');
    this.socket = opts.socket;
    this.localSid = unverifiedSid(opts.token());
    this.lastReceivedAt = opts.clock.now();
    this.wireUp();
    const timeout = opts.handshakeTimeoutMs ?? 5_000;
    this.authTimer = opts.clock.setTimeout(
      () => this.fail(new ProtocolError(`authentication timed out after ${timeout} ms`), true),
      timeout,
    );
    if (this.socket.destroyed) {
      process.nextTick(() => this.fail(new ProtocolError('socket already closed'), false));
      return;
    }
    if (opts.outbound) this.wire.handshake(opts.infoHash, opts.localPeerId, { extended: true });
  }

  // --- state ---------------------------------------------------------------

  get authenticated(): boolean {
    return this.identity !== null && !this.ended;
  }
  get closed(): boolean {
    return this.ended;
  }
  get outbound(): boolean {
    return this.opts.outbound;
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
  // Each returns what socket.write returned (false: wait for 'drain'), and
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

  /** Relays a revocation notice. */
  sendRevoked(sid: string): boolean {
    return this.sendLive({ t: 'revoked', sid });
  }

  /** Closes the connection if the remote's session is now revoked; returns whether it did. */
  checkRevoked(): boolean {
    const sid = this.identity?.sid;
    if (this.ended || sid === undefined || !this.opts.isRevoked(sid)) return false;
    this.fail(new ClientError('token_revoked', `session ${sid} was revoked`), true);
    return true;
  }

  /** Ends the connection; emits 'close' once. Idempotent. */
  close(reason = 'closed locally'): void {
    if (this.ended) return;
    this.ended = true;
    this.authTimer?.cancel();
    this.keepAliveTimer?.cancel();
    this.wire.destroy();
    const s = this.socket;
    if (!s.destroyed) {
      // Flush what is queued (a refusal's `leaving`), then go; don't wait on a peer that stopped reading.
      const linger = this.opts.clock.setTimeout(() => s.destroy(), CLOSE_LINGER_MS);
      s.end(() => {
        linger.cancel();
        s.destroy();
      });
    }
    this.emit('close', reason);
  }

  private send(write: () => void): boolean {
    if (this.ended) return false;
    if (!this.identity) throw new InternalError('peer connection is not authenticated yet');
    write();
    return this.lastWriteOk;
  }

  private sendLive(msg: LiveMessage): boolean {
    const id = this.remoteLive?.gcLiveId;
    return this.send(() => {
      if (id) this.wire.extended(id, encodeLiveMessage(msg));
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
    // Messages written in one turn of the event loop (haves, requests and
    // blocks for this peer, from every socket read in that turn) leave in one
    // writev instead of one syscall each.
    let corked = false;
    w.on('data', (bytes) => {
      if (s.destroyed) return;
      if (!corked) {
        corked = true;
        s.cork();
        setImmediate(() => {
          corked = false;
          s.uncork();
        });
      }
      this.lastWriteOk = s.write(bytes);
    });
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
      if (!this.ended) this.emit('drain');
    });
    s.on('end', () => this.fail(new ProtocolError('connection closed by the peer'), false));
    s.on('close', () => this.fail(new ProtocolError('connection closed by the peer'), false));
    s.on('error', (err: Error) => this.fail(new ProtocolError(`socket error: ${err.message}`), false));

    w.on('error', (err) => this.fail(err, true));
    w.on('handshake', (hs) => this.onHandshake(hs));
    w.on('extended-handshake', (dict) => this.onExtendedHandshake(dict));
    w.on('extended', (extId, payload) => this.onExtended(extId, payload));

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
  private admit(what: DataMessage | 'window'): boolean {
    if (this.identity) return true;
    this.fail(new ProtocolError(`peer sent ${what} before authentication`), true);
    return false;
  }

  private remoteFlag(flag: 'remoteChoking' | 'remoteInterested', value: boolean, event: 'choke' | 'unchoke' | 'interested' | 'not-interested'): void {
    this.flags[flag] = value;
    this.emit(event);
  }

  private onHandshake(hs: Handshake): void {
    if (!hs.infoHash.equals(this.opts.infoHash)) {
      return this.fail(new ProtocolError('peer handshake names another info hash'), false);
    }
    if (!hs.extended) {
      return this.fail(new ClientError('token_missing', 'peer does not support the extension protocol (BEP 10), so it has no token'), false);
    }
    if (hs.peerId.equals(this.opts.localPeerId)) {
      return this.fail(new ClientError('conflict', 'connected to ourselves (same peer id)'), false);
    }
    this.remotePeerId = hs.peerId;
    if (!this.opts.outbound) this.wire.handshake(this.opts.infoHash, this.opts.localPeerId, { extended: true });
    this.wire.extendedHandshake(encodeLiveHandshake({ token: this.opts.token(), nonce: this.nonce, role: this.opts.role }));
  }

  private onExtendedHandshake(dict: BDict): void {
    if (this.remoteLive) {
      // BEP 10 lets a peer resend its handshake; a renewed token is not re-checked yet.
      if (!this.identity) this.fail(new ProtocolError('peer sent a second extended handshake before authentication'), true);
      return;
    }
    let hs: LiveHandshake;
    try {
      hs = decodeLiveHandshake(dict);
    } catch (err) {
      return this.fail(err as Error, false);
    }
    this.remoteLive = hs;
    // Hold later messages (its `auth`, then data) until the token check is done, so they are judged in order.
    this.wire.pause();
    const check = { verifier: this.opts.verifier, program: this.opts.program, nowMs: this.opts.clock.now(), isRevoked: this.opts.isRevoked, localSid: this.localSid };
    checkRemoteHandshake(hs, check).then(
      (claims) => {
        if (this.ended) return;
        try {
          this.claims = claims;
          const sig = signPeerAuth(this.opts.clientKey, hs.nonce as Buffer, this.opts.infoHash, this.opts.localPeerId);
          this.wire.extended(hs.gcLiveId as number, encodeLiveMessage({ t: 'auth', sig }));
          this.wire.resume();
        } catch (err) {
          this.fail(err instanceof Error ? err : new InternalError(String(err)), true);
        }
      },
      (err: unknown) => this.fail(err instanceof Error ? err : new InternalError(String(err)), true),
    );
  }

  private onExtended(extId: number, payload: Buffer): void {
    // Other extensions were never offered in our `m`; their messages are skipped.
    if (extId !== GC_LIVE_LOCAL_ID) return;
    let msg: LiveMessage | null;
    try {
      msg = decodeLiveMessage(payload);
    } catch (err) {
      return this.fail(err as Error, true);
    }
    if (!msg) return;
    switch (msg.t) {
      case 'auth':
        return this.onAuth(msg.sig);
      case 'window':
        if (this.admit('window')) this.emit('window', { base: msg.base, bits: msg.bits });
        return;
      case 'leaving':
        if (!this.identity) return this.fail(new ProtocolError(`peer left before authentication: ${msg.reason}`), false);
        this.emit('leaving', msg.reason);
        return this.close(`peer left: ${msg.reason}`);
      case 'revoked':
        if (this.identity) this.emit('revoked', msg.sid);
        return;
    }
  }

  private onAuth(sig: Buffer): void {
    if (!this.claims || !this.remotePeerId) return this.fail(new ProtocolError('peer sent auth before its extended handshake'), true);
    if (this.identity) return this.fail(new ProtocolError('peer sent auth twice'), true);
    const claims = this.claims;
    try {
      checkProof(claims, sig, this.nonce, this.opts.infoHash, this.remotePeerId);
    } catch (err) {
      return this.fail(err as Error, true);
    }
    if (this.opts.isRevoked(claims.sid)) return this.fail(new ClientError('token_revoked', `session ${claims.sid} was revoked`), true);
    this.identity = { sid: claims.sid, user: claims.sub, role: claims.role, peerId: this.remotePeerId, expiresAtMs: claims.exp * 1000 };
    this.authTimer?.cancel();
    this.authTimer = null;
    this.startKeepAlive();
    this.emit('authenticated', this.identity);
  }

  private startKeepAlive(): void {
    const every = this.opts.keepAliveMs ?? 30_000;
    const idle = this.opts.idleTimeoutMs ?? 120_000;
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
    const id = this.remoteLive?.gcLiveId;
    if (notify && id && !this.wire.destroyed) {
      this.wire.extended(id, encodeLiveMessage({ t: 'leaving', reason: this.identity ? reason : `refused: ${reason}` }));
    }
    if (!this.identity) this.emit('refused', err);
    this.close(reason);
  }
}

function toPieceRequest(r: BlockRequest): PieceRequest {
  return { seq: r.index, begin: r.begin, length: r.length };
}
