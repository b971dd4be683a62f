/**
 * Connection management for the swarm: the listening socket, dialing peers
 * from a tracker list, the budget for inbound sockets not yet authenticated,
 * and the Noise channel every connection runs in. It hands each
 * PeerConnection to the swarm as soon as the channel is up; what happens once
 * the remote is authenticated (slots, duplicates, pieces) is the swarm's.
 */
import net from 'node:net';
import { DEFAULTS } from '../core/config.js';
import type { ChannelPeer } from '../protocol/tracker-channel.js';
import { PeerConnection } from './peer-connection.js';
import { noiseKeyPair, openSecureChannel, type NoiseKeyPair } from './secure-channel.js';
import { InboundBudget } from './secure-budget.js';
import type { SwarmOptions } from './swarm-types.js';

export interface PeerLinksDeps {
  opts: SwarmOptions;
  /** Authenticated peers now, and whether one is known by sid. */
  peerCount: () => number;
  hasPeer: (sid: string) => boolean;
  /** Revoked or banned: never dialed, refused at authentication. */
  refused: (sid: string) => boolean;
  /** A connection whose channel is up; not authenticated yet. */
  connection: (conn: PeerConnection, outbound: boolean) => void;
  log: (line: string) => void;
}

export class PeerLinks {
  /** Sessions we dialed whose connection is not authenticated yet (they count against maxPeers). */
  private readonly dialing = new Set<string>();
  /** Inbound sockets not authenticated yet. */
  private readonly inbound: InboundBudget;
  /** Sockets still in their Noise handshake: close() ends them too. */
  private readonly handshaking = new Set<net.Socket>();
  private readonly keyPair: NoiseKeyPair;
  private server: net.Server | null = null;
  private listenPort: number | null = null;
  private closed = false;

  constructor(private readonly deps: PeerLinksDeps) {
    const { opts } = deps;
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

  async listen(port: number, host: string): Promise<number> {
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    server.on('error', (err) => this.deps.log(`listen socket: ${err.message}`));
    const addr = server.address();
    this.listenPort = typeof addr === 'object' && addr ? addr.port : port;
    return this.listenPort;
  }

  /** Dials peers from a tracker list, up to the connection limit. */
  connect(list: ChannelPeer[]): void {
    const { opts, hasPeer, refused, peerCount } = this.deps;
    for (const p of list) {
      // We dial until half the peer slots are taken and let newcomers dial us for
      // the rest (inbound may use up to twice maxPeers). Only authenticated peers
      // and our own dials count: inbound strangers can't stop us dialing.
      if (this.closed || peerCount() + this.dialing.size >= this.dialTarget()) return;
      if (p.sid === opts.sid || hasPeer(p.sid) || this.dialing.has(p.sid) || refused(p.sid)) continue;
      this.dialing.add(p.sid);
      const socket = net.connect({ host: p.ip, port: p.port });
      this.attach(socket, true, once(() => this.dialing.delete(p.sid)), p.key);
    }
  }

  /** Ends the listening socket and every socket still in its handshake (connections are the swarm's to close). */
  async close(): Promise<void> {
    this.closed = true;
    for (const socket of this.handshaking) socket.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Peers we dial for ourselves: half of maxPeers (the connection limit counts both ends' dials). */
  private dialTarget(): number {
    return Math.max(1, Math.ceil(this.deps.opts.maxPeers / 2));
  }

  private accept(socket: net.Socket): void {
    const full = this.deps.peerCount() >= this.deps.opts.maxPeers * 2;
    const release = this.closed || full ? null : this.inbound.admit(socket.remoteAddress ?? '');
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
    const { opts, log } = this.deps;
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
          if (impostor) log(`peer channel refused: ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'} is not the listed session's key`);
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
          isRevoked: this.deps.refused,
          ...(opts.authTimeoutMs === undefined ? {} : { handshakeTimeoutMs: opts.authTimeoutMs }),
        });
        conn.on('refused', (err) => log(`refused a peer: ${err.message}`));
        // Settled before the swarm hears of it, so the slot counts are right when it does.
        conn.on('authenticated', settled);
        conn.on('close', settled);
        this.deps.connection(conn, outbound);
      },
      (err: unknown) => {
        this.handshaking.delete(socket);
        settled();
        log(`peer channel failed: ${err instanceof Error ? err.message : String(err)}`);
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
