/**
 * The authentication exchange of one peer connection (peer-connection.ts owns
 * the wire, the flags and the sending; this module decides who the remote is).
 *
 * Both sides send the BEP 3 handshake, the dialer first. Then the dialer sends
 * its BEP 10 extended handshake: its token and `gc_auth`, its signature over
 * this channel's transcript (peer-auth.ts). The acceptor checks the token, the
 * channel's remote static key against the token's client key, and the proof;
 * only then does it send its own token and proof, which the dialer checks the
 * same way. Authentication must finish within the handshake timeout.
 *
 * Once authenticated, the remote's token expiry is watched: the connection
 * fails at expiry unless a renewed token (same session, same key) checks out
 * first.
 */
import type { KeyObject } from 'node:crypto';
import type { Clock, TimerHandle } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import { ClientError, InternalError, ProtocolError } from '../core/errors.js';
import type { OutageView } from '../core/outage.js';
import type { AccessClaims, TokenRole } from '../core/token.js';
import { decodeLiveHandshake, encodeLiveHandshake, signPeerAuth, type LiveHandshake } from '../protocol/live-extension.js';
import type { TokenVerifier } from '../protocol/token.js';
import type { BDict } from '../protocol/wire-bencode.js';
import type { Handshake, Wire } from '../protocol/wire.js';
import { checkProof, checkRemoteHandshake, checkRenewedToken, proofContext, unverifiedSid, type ProofParties, type RemoteIdentity } from './peer-auth.js';
import type { ChannelBinding } from './secure-channel.js';

/** What the authentication exchange needs to know (part of PeerConnectionOptions). */
export interface PeerAuthOptions {
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
  /** Extends the remote's token past its expiry while the control server is unreachable (core/outage.ts); none: strict. */
  outage?: OutageView;
  /** Time allowed from construction to authentication (DEFAULTS.peerAuthTimeoutMs). */
  handshakeTimeoutMs?: number;
}

/** What the exchange calls back into its connection. */
export interface PeerHandshakeHooks {
  /** Whether the connection has ended (late check results are then dropped). */
  isEnded(): boolean;
  /** Ends the connection because of `err`; `notify` tells the remote why. */
  fail(err: Error, notify: boolean): void;
  /** The remote checked out: start the connection's own timers (before the expiry watch). */
  started(): void;
  /** Authentication is complete (the expiry watch is running). */
  authenticated(identity: RemoteIdentity): void;
  /** A renewed token checked out; the remote's session now lasts until `expiresAtMs`. */
  renewed(expiresAtMs: number): void;
}

export class PeerHandshake {
  private readonly localSid: string;
  private remotePeerId: Buffer | null = null;
  private remoteLive: LiveHandshake | null = null;
  private claims: AccessClaims | null = null;
  private remote: RemoteIdentity | null = null;
  private authTimer: TimerHandle | null;
  private expiryTimer: TimerHandle | null = null;

  /** Starts the authentication timeout. */
  constructor(
    private readonly opts: PeerAuthOptions,
    private readonly wire: Wire,
    private readonly hooks: PeerHandshakeHooks,
  ) {
    this.localSid = unverifiedSid(opts.token()) ?? '';
    const timeout = opts.handshakeTimeoutMs ?? DEFAULTS.peerAuthTimeoutMs;
    this.authTimer = opts.clock.setTimeout(
      () => hooks.fail(new ProtocolError(`authentication timed out after ${timeout} ms`), true),
      timeout,
    );
  }

  /** The authenticated remote, or null before authentication. */
  get identity(): RemoteIdentity | null {
    return this.remote;
  }

  /** The dialer speaks first: its BEP 3 handshake goes out at once. */
  open(): void {
    if (this.opts.channel.initiator) this.wire.handshake(this.opts.infoHash, this.opts.localPeerId, { extended: true });
  }

  /** Cancels the timers; the connection has ended. */
  stop(): void {
    this.authTimer?.cancel();
    this.expiryTimer?.cancel();
  }

  onHandshake(hs: Handshake): void {
    if (!hs.infoHash.equals(this.opts.infoHash)) {
      return this.hooks.fail(new ProtocolError('peer handshake names another info hash'), false);
    }
    if (!hs.extended) {
      return this.hooks.fail(new ClientError('token_missing', 'peer does not support the extension protocol (BEP 10), so it has no token'), false);
    }
    if (hs.peerId.equals(this.opts.localPeerId)) {
      return this.hooks.fail(new ClientError('conflict', 'connected to ourselves (same peer id)'), false);
    }
    this.remotePeerId = hs.peerId;
    // The dialer proves itself first; the acceptor answers only the BEP 3 handshake
    // and keeps its token until the dialer's token and proof have checked out.
    if (this.opts.channel.initiator) this.sendOwnHandshake('');
    else this.wire.handshake(this.opts.infoHash, this.opts.localPeerId, { extended: true });
  }

  onExtendedHandshake(dict: BDict): void {
    if (this.remoteLive) {
      // BEP 10 lets a peer resend its handshake; renewed tokens travel as gc_live `token`.
      if (!this.remote) this.hooks.fail(new ProtocolError('peer sent a second extended handshake before authentication'), true);
      return;
    }
    if (!this.remotePeerId) return this.hooks.fail(new ProtocolError('peer sent an extended handshake before the BitTorrent handshake'), false);
    let hs: LiveHandshake;
    try {
      hs = decodeLiveHandshake(dict);
    } catch (err) {
      return this.hooks.fail(err as Error, false);
    }
    this.remoteLive = hs;
    const sig = hs.auth;
    if (hs.token && !sig) return this.hooks.fail(new ClientError('proof_invalid', 'peer sent a token without a proof (gc_auth)'), true);
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
        if (this.hooks.isEnded()) return;
        try {
          checkProof(claims, sig as Buffer, proofContext(this.parties(claims.sid), 'remote'));
          // The acceptor's turn: its token and proof go out only now.
          if (!this.opts.channel.initiator) this.sendOwnHandshake(claims.sid);
          this.authenticate(claims);
          this.wire.resume();
        } catch (err) {
          this.hooks.fail(err instanceof Error ? err : new InternalError(String(err)), true);
        }
      },
      (err: unknown) => this.hooks.fail(err instanceof Error ? err : new InternalError(String(err)), true),
    );
  }

  /** A gc_live `token` from the authenticated remote: a renewal moves the expiry, a bad one ends the connection. */
  onRenewedToken(token: string): void {
    const current = this.claims;
    if (!current) return;
    const check = { verifier: this.opts.verifier, program: this.opts.program, nowMs: this.opts.clock.now(), isRevoked: this.opts.isRevoked };
    checkRenewedToken(token, current, check).then(
      (claims) => {
        if (this.hooks.isEnded() || !this.remote) return;
        // Keep the later of the two: renewals may cross on the wire.
        if (claims.exp <= (this.claims?.exp ?? 0)) return;
        this.claims = claims;
        this.remote.expiresAtMs = claims.exp * 1000;
        this.watchExpiry();
        this.hooks.renewed(this.remote.expiresAtMs);
      },
      (err: unknown) => this.hooks.fail(err instanceof Error ? err : new InternalError(String(err)), true),
    );
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

  private authenticate(claims: AccessClaims): void {
    this.claims = claims;
    this.remote = { sid: claims.sid, user: claims.sub, role: claims.role, peerId: this.remotePeerId as Buffer, expiresAtMs: claims.exp * 1000 };
    this.authTimer?.cancel();
    this.authTimer = null;
    this.hooks.started();
    this.watchExpiry();
    this.hooks.authenticated(this.remote);
  }

  /**
   * Fails the connection when the remote's token expires; a renewed token
   * moves the deadline. During a control outage the token is honored past its
   * expiry (core/outage.ts); that grace can end early (the control server is
   * back and renewals flow again), so past the expiry it is looked at again
   * every second.
   */
  private watchExpiry(): void {
    this.expiryTimer?.cancel();
    const identity = this.remote;
    if (!identity) return;
    const now = this.opts.clock.now();
    const until = this.opts.outage?.honoredUntil(identity.expiresAtMs) ?? identity.expiresAtMs;
    if (until <= now) {
      this.hooks.fail(new ClientError('token_expired', `session ${identity.sid}: token expired and no renewed token arrived`), true);
      return;
    }
    const wait = now < identity.expiresAtMs ? identity.expiresAtMs - now : Math.min(until - now, DEFAULTS.peer.outageRecheckMs);
    this.expiryTimer = this.opts.clock.setTimeout(() => this.watchExpiry(), wait);
  }
}
