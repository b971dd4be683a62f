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
 * ends the connection, and nothing we send can carry a piece.
 *
 * Once authenticated, the remote's token expiry is watched: the connection
 * closes at expiry unless a renewed token (same session, same key) arrives in
 * a gc_live `token` message first.
 *
 * Every connection ends with exactly one `'close'`. One that never got
 * authenticated emits `'refused'` first (with a ClientError code where one
 * fits), unless it was closed locally.
 */
import { EventEmitter } from 'node:events';
import type { KeyObject } from 'node:crypto';
import type { Clock, TimerHandle } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import { ClientError, InternalError, ProtocolError } from '../core/errors.js';
import type { AccessClaims, TokenRole } from '../core/token.js';
import {
  decodeLiveHandshake,
  decodeLiveMessage,
  encodeLiveHandshake,
  encodeLiveMessage,
  GC_LIVE_LOCAL_ID,
  signPeerAuth,
  type LiveHandshake,
  type LiveMessage,
} from '../protocol/live-extension.js';
import type { TokenVerifier } from '../protocol/token.js';
import type { BDict } from '../protocol/wire-bencode.js';
import { Wire, type BlockRequest, type Handshake } from '../protocol/wire.js';
import { checkProof, checkRemoteHandshake, checkRenewedToken, describeRefusal, proofContext, unverifiedSid, type ProofParties, type RemoteIdentity } from './peer-auth.js';
import type { ChannelBinding, PeerSocket } from './secure-channel.js';
import { FrameWriter } from './secure-writer.js';

export type { RemoteIdentity } from './peer-auth.js';

export interface PeerConnectionOptions {
  /** The encrypted channel's stream (or, in tests, any stream the binding describes). */
  socket: PeerSocket;
  /** What the channel's handshake established: its hash and the remote's static key. */
  channel: ChannelBinding;
  infoHash: Buffer;
  localPeerId: Buffer;
  /** The current access token; read when the extended handshake is sent (renewals go out with sendToken). */
  token: () => string;
  /** Private Ed25519 key the token's `ckey` names. */
  clientKey: KeyObject;
  role: TokenRole;
  program: string;
  verifier: TokenVerifier;
  clock: Clock;
  isRevoked: (sid: string) => boolean;
  /** Time allowed from construction to authentication (DEFAULTS.peerAuthTimeoutMs). */
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
  /** The remote sent a renewed token that checked out; the connection now lasts until `expiresAtMs`. */
  'token-renewed': [expiresAtMs: number];
  /** The remote relays that session `sid` was revoked: a hint to check, not proof. */
  revoked: [sid: string];
  drain: [];
  close: [reason: string];
}

type DataMessage = 'choke' | 'unchoke' | 'interested' | 'not-interested' | 'have' | 'bitfield' | 'request' | 'piece' | 'cancel';

const CLOSE_LINGER_MS = 2_000;

export class PeerConnection extends EventEmitter<PeerConnectionEvents> {
  private readonly wire = new Wire();
  private readonly socket: PeerSocket;
  private readonly localSid: string;
  private remotePeerId: Buffer | null = null;
  private remoteLive: LiveHandshake | null = null;
  private claims: AccessClaims | null = null;
  private identity: RemoteIdentity | null = null;
  private ended = false;
  private readonly out: FrameWriter;
  private expiryTimer: TimerHandle | null = null;
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
    this.out = new FrameWriter(opts.socket);
    this.localSid = unverifiedSid(opts.token()) ?? '';
    this.lastReceivedAt = opts.clock.now();
    this.wireUp();
    const timeout = opts.handshakeTimeoutMs ?? DEFAULTS.peerAuthTimeoutMs;
    this.authTimer = opts.clock.setTimeout(
      () => this.fail(new ProtocolError(`authentication timed out after ${timeout} ms`), true),
      timeout,
    );
    if (this.socket.destroyed) {
      process.nextTick(() => this.fail(new ProtocolError('socket already closed'), false));
      return;
    }
    if (opts.channel.initiator) this.wire.handshake(opts.infoHash, opts.localPeerId, { extended: true });
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
    this.expiryTimer?.cancel();
    this.out.flush();
    this.wire.destroy();
    const s = this.socket;
    if (!s.destroyed) {
      // Flush what is queued (a refusal's `leaving`), then go; don't wait on a peer that stopped reading.
      const linger = this.opts.clock.setTimeout(() => s.destroy(), CLOSE_LINGER_MS);
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
  private admit(what: DataMessage | 'window' | 'token'): boolean {
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
    // The dialer proves itself first; the acceptor answers only the BEP 3 handshake
    // and keeps its token until the dialer's token and proof have checked out.
    if (this.opts.channel.initiator) this.sendOwnHandshake('');
    else this.wire.handshake(this.opts.infoHash, this.opts.localPeerId, { extended: true });
  }

  /** Our extended handshake: token, role and our proof for this channel. */
  private sendOwnHandshake(remoteSid: string): void {
    const auth = signPeerAuth(this.opts.clientKey, proofContext(this.parties(remoteSid), 'local'));
    this.wire.extendedHandshake(encodeLiveHandshake({ token: this.opts.token(), role: this.opts.role, auth }));
  }

  private parties(remoteSid: string): ProofParties {
    return {
      binding: this.opts.channel,
      infoHash: this.opts.infoHash,
      localPeerId: this.opts.localPeerId,
      remotePeerId: this.remotePeerId as Buffer,
      localSid: this.localSid,
      remoteSid,
    };
  }

  private onExtendedHandshake(dict: BDict): void {
    if (this.remoteLive) {
      // BEP 10 lets a peer resend its handshake; renewed tokens travel as gc_live `token`.
      if (!this.identity) this.fail(new ProtocolError('peer sent a second extended handshake before authentication'), true);
      return;
    }
    if (!this.remotePeerId) return this.fail(new ProtocolError('peer sent an extended handshake before the BitTorrent handshake'), false);
    let hs: LiveHandshake;
    try {
      hs = decodeLiveHandshake(dict);
    } catch (err) {
      return this.fail(err as Error, false);
    }
    this.remoteLive = hs;
    const sig = hs.auth;
    if (hs.token && !sig) return this.fail(new ClientError('proof_invalid', 'peer sent a token without a proof (gc_auth)'), true);
    // Hold later messages until the check is done, so they are judged in order.
    this.wire.pause();
    const check = {
      verifier: this.opts.verifier,
      program: this.opts.program,
      nowMs: this.opts.clock.now(),
      isRevoked: this.opts.isRevoked,
      localSid: this.localSid,
      remoteStaticKey: this.opts.channel.remoteStaticKey,
    };
    checkRemoteHandshake(hs, check).then(
      (claims) => {
        if (this.ended) return;
        try {
          checkProof(claims, sig as Buffer, proofContext(this.parties(claims.sid), 'remote'));
          // The acceptor's turn: its token and proof go out only now.
          if (!this.opts.channel.initiator) this.sendOwnHandshake(claims.sid);
          this.authenticate(claims);
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
      case 'token':
        if (this.admit('token')) this.onRenewedToken(msg.token);
        return;
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

  private authenticate(claims: AccessClaims): void {
    this.claims = claims;
    this.identity = { sid: claims.sid, user: claims.sub, role: claims.role, peerId: this.remotePeerId as Buffer, expiresAtMs: claims.exp * 1000 };
    this.authTimer?.cancel();
    this.authTimer = null;
    this.startKeepAlive();
    this.watchExpiry();
    this.emit('authenticated', this.identity);
  }

  /** Closes the connection when the remote's token expires; a renewed token moves the deadline. */
  private watchExpiry(): void {
    this.expiryTimer?.cancel();
    const identity = this.identity;
    if (!identity) return;
    const left = Math.max(0, identity.expiresAtMs - this.opts.clock.now());
    this.expiryTimer = this.opts.clock.setTimeout(
      () => this.fail(new ClientError('token_expired', `session ${identity.sid}: token expired and no renewed token arrived`), true),
      left,
    );
  }

  private onRenewedToken(token: string): void {
    const current = this.claims;
    if (!current) return;
    const check = { verifier: this.opts.verifier, program: this.opts.program, nowMs: this.opts.clock.now(), isRevoked: this.opts.isRevoked };
    checkRenewedToken(token, current, check).then(
      (claims) => {
        if (this.ended || !this.identity) return;
        // Keep the later of the two: renewals may cross on the wire.
        if (claims.exp <= (this.claims?.exp ?? 0)) return;
        this.claims = claims;
        this.identity.expiresAtMs = claims.exp * 1000;
        this.watchExpiry();
        this.emit('token-renewed', this.identity.expiresAtMs);
      },
      (err: unknown) => this.fail(err instanceof Error ? err : new InternalError(String(err)), true),
    );
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
