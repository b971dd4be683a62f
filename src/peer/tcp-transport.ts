/**
 * The TCP transport: the listening socket, dialing listed peers, the budget
 * for inbound sockets not yet authenticated, the Noise channel every
 * connection runs in and, inside it, the PeerConnection (BitTorrent wire,
 * token exchange). A connection reaches the engine (TransportHost.link) only
 * once its remote is authenticated, as a TcpPeerLink. Which peers to dial, how
 * many to keep and which duplicate to drop is connection-manager.ts's.
 */
import net from 'node:net';
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import type { OutageView } from '../core/outage.js';
import type { TokenRole } from '../core/token.js';
import type { TokenVerifier } from '../protocol/token.js';
import type { ChannelPeer } from '../protocol/tracker-channel.js';
import { PeerConnection } from './peer-connection.js';
import { noiseKeyPair, openSecureChannel, type NoiseKeyPair } from './secure-channel.js';
import { InboundBudget } from './secure-budget.js';
import { TcpPeerLink } from './tcp-peer-link.js';
import type { Transport, TransportHost } from './transport.js';

export interface TcpTransportOptions {
  /** Where to listen (port 0: any). */
  host: string;
  port: number;
  infoHash: Buffer;
  program: string;
  peerId: Buffer;
  role: TokenRole;
  /** Our current access token (read at each handshake; renewals go out through PeerLink.sendToken). */
  token: () => string;
  clientKey: KeyObject;
  verifier: TokenVerifier;
  /** Our view of a control outage: peers' tokens are honored past expiry while it lasts (core/outage.ts). */
  outage?: OutageView;
  clock: Clock;
  /**
   * Inbound sockets not yet authenticated, at most, in total and per remote
   * address: apart from the peer slots, so idle sockets can neither fill them
   * nor stop us dialing out. DEFAULTS.peerPendingMax / peerPendingPerAddress.
   */
  pendingMax?: number;
  pendingPerAddress?: number;
  /** DEFAULTS.peerChannelTimeoutMs and peerAuthTimeoutMs. */
  channelTimeoutMs?: number;
  authTimeoutMs?: number;
  /** DEFAULTS.peer.keepAliveMs, idleTimeoutMs, closeLingerMs. */
  keepAliveMs?: number;
  idleTimeoutMs?: number;
  closeLingerMs?: number;
}

export class TcpTransport implements Transport {
  /** Inbound sockets not authenticated yet. */
  private readonly inbound: InboundBudget;
  /** Sockets still in their Noise handshake, and connections not yet authenticated: close() ends them. */
  private readonly handshaking = new Set<net.Socket>();
  private readonly unauthenticated = new Set<PeerConnection>();
  private readonly keyPair: NoiseKeyPair;
  private host: TransportHost | null = null;
  private server: net.Server | null = null;
  private listenPort: number | null = null;
  private closed = false;

  constructor(private readonly opts: TcpTransportOptions) {
    this.keyPair = noiseKeyPair(opts.clientKey);
    this.inbound = new InboundBudget({
      max: opts.pendingMax ?? DEFAULTS.peerPendingMax,
      maxPerAddress: opts.pendingPerAddress ?? DEFAULTS.peerPendingPerAddress,
    });
  }

  get port(): number | null {
    return this.listenPort;
  }

  get pendingInbound(): number {
    return this.inbound.pending;
  }

  async listen(host: TransportHost): Promise<number> {
    this.host = host;
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    server.on('error', (err) => host.log(`listen socket: ${err.message}`));
    const addr = server.address();
    this.listenPort = typeof addr === 'object' && addr ? addr.port : this.opts.port;
    return this.listenPort;
  }

  dial(peer: ChannelPeer, settled: () => void): void {
    if (this.closed || !this.host) return settled();
    const socket = net.connect({ host: peer.ip, port: peer.port });
    this.attach(socket, true, once(settled), peer.key);
  }

  /** Ends the listening socket and every connection not handed over yet (links are the engine's to close). */
  async close(): Promise<void> {
    this.closed = true;
    for (const socket of this.handshaking) socket.destroy();
    for (const conn of this.unauthenticated) conn.close('shutting down');
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    const release = this.closed || !this.host?.canAccept() ? null : this.inbound.admit(socket.remoteAddress ?? '');
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
    const { opts } = this;
    const host = this.host as TransportHost;
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    this.handshaking.add(socket);
    openSecureChannel(socket, {
      initiator: outbound,
      keyPair: this.keyPair,
      clock: opts.clock,
      timeoutMs: opts.channelTimeoutMs ?? DEFAULTS.peerChannelTimeoutMs,
    }).then(
      (channel) => {
        this.handshaking.delete(socket);
        const impostor = expectedKey !== undefined && channel.binding.remoteStaticKey.toString('base64url') !== expectedKey;
        if (this.closed || impostor) {
          channel.stream.destroy();
          settled();
          if (impostor) host.log(`peer channel refused: ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'} is not the listed session's key`);
          return;
        }
        const conn = new PeerConnection({
          socket: channel.stream,
          channel: channel.binding,
          infoHash: opts.infoHash,
          localPeerId: opts.peerId,
          token: opts.token,
          clientKey: opts.clientKey,
          role: opts.role,
          program: opts.program,
          verifier: opts.verifier,
          ...(opts.outage === undefined ? {} : { outage: opts.outage }),
          clock: opts.clock,
          isRevoked: (sid) => host.refused(sid),
          ...(opts.authTimeoutMs === undefined ? {} : { handshakeTimeoutMs: opts.authTimeoutMs }),
          keepAliveMs: opts.keepAliveMs ?? DEFAULTS.peer.keepAliveMs,
          idleTimeoutMs: opts.idleTimeoutMs ?? DEFAULTS.peer.idleTimeoutMs,
          closeLingerMs: opts.closeLingerMs ?? DEFAULTS.peer.closeLingerMs,
        });
        this.unauthenticated.add(conn);
        conn.on('refused', (err) => host.log(`refused a peer: ${err.message}`));
        conn.on('authenticated', () => {
          this.unauthenticated.delete(conn);
          // Settled before the engine hears of it, so its slot counts are right when it does.
          settled();
          host.link(new TcpPeerLink(conn), outbound);
        });
        conn.on('close', () => {
          this.unauthenticated.delete(conn);
          settled();
        });
      },
      (err: unknown) => {
        this.handshaking.delete(socket);
        settled();
        host.log(`peer channel failed: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
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
