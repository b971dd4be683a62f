/**
 * An in-memory network of PeerLinks: the swarm's tests and the simulator run
 * the real engine over it. Messages pass as calls, never as bytes: no wire, no
 * Noise, no token (each endpoint's identity is given). What a link costs and
 * how long it takes is the delivery model's: by default a message arrives on
 * the next clock.defer, and a simulator plugs in per-link latency, per-peer
 * upload caps and loss. A message never arrives inside its sender's call.
 *
 * The model must keep each direction of a link in order (as TCP does): the
 * connection's opening answer travels ahead of the acceptor's first messages.
 */
import type { Clock } from '../core/clock.js';
import type { ChannelPeer } from '../protocol/tracker-channel.js';
import { MemoryLink, type LinkCarrier } from './memory-link.js';
import type { LinkIdentity, Transport, TransportHost } from './transport.js';

/**
 * Carries `bytes` from endpoint `from` to endpoint `to` (sids): calls `sent`
 * once they have left the sender (its send buffer frees; the link may then
 * emit 'drain') and `arrive` when they reach `to`; a lost message never
 * arrives (`sent` must still run). Order per direction must be kept.
 */
export type DeliveryModel = (from: string, to: string, bytes: number, arrive: () => void, sent: () => void) => void;

export interface MemoryNetworkOptions {
  clock: Clock;
  /** Default: sent at once, arrives on the next clock.defer. */
  deliver?: DeliveryModel;
  /** A link's send methods return false past this many bytes not yet sent (then 'drain' follows). Default 64 KiB. */
  sendBufferBytes?: number;
}

/** Bytes a connection's opening costs each way (BEP 3 handshake, extended handshake with token and proof). */
const OPENING_BYTES = 600;

export class MemoryNetwork implements LinkCarrier {
  readonly clock: Clock;
  readonly sendBufferBytes: number;
  private readonly model: DeliveryModel;
  private readonly listeners = new Map<string, MemoryTransport>();
  private readonly nextPort = new Map<string, number>();

  constructor(opts: MemoryNetworkOptions) {
    this.clock = opts.clock;
    this.sendBufferBytes = opts.sendBufferBytes ?? 64 * 1024;
    this.model = opts.deliver ?? ((_from, _to, _bytes, arrive, sent) => {
      sent();
      opts.clock.defer(arrive);
    });
  }

  /** A transport for one endpoint. `ip` defaults to 127.0.0.1; the port is given at listen() unless fixed here. */
  transport(identity: LinkIdentity, address: { ip?: string; port?: number } = {}): MemoryTransport {
    return new MemoryTransport(this, identity, address.ip ?? '127.0.0.1', address.port);
  }

  carry(from: string, to: string, bytes: number, arrive: () => void, sent: () => void): void {
    this.model(from, to, bytes, arrive, sent);
  }

  /** @internal: address book of listening transports. */
  bind(t: MemoryTransport, ip: string, port: number | undefined): number {
    let p = port;
    if (p === undefined) {
      p = this.nextPort.get(ip) ?? 6881;
      while (this.listeners.has(`${ip}:${p}`)) p++;
      this.nextPort.set(ip, p + 1);
    }
    const key = `${ip}:${p}`;
    if (this.listeners.has(key)) throw new Error(`address in use: ${key}`);
    this.listeners.set(key, t);
    return p;
  }

  /** @internal */
  unbind(ip: string, port: number): void {
    this.listeners.delete(`${ip}:${port}`);
  }

  /** @internal */
  lookup(ip: string, port: number): MemoryTransport | undefined {
    return this.listeners.get(`${ip}:${port}`);
  }
}

export class MemoryTransport implements Transport {
  private host: TransportHost | null = null;
  private boundPort: number | null = null;
  private closed = false;

  constructor(
    private readonly net: MemoryNetwork,
    readonly identity: LinkIdentity,
    readonly ip: string,
    private readonly fixedPort: number | undefined,
  ) {}

  get port(): number | null {
    return this.boundPort;
  }

  /** Openings are answered within one delivery: none waits here. */
  get pendingInbound(): number {
    return 0;
  }

  /** This endpoint as a tracker would list it. */
  get listed(): ChannelPeer {
    return { sid: this.identity.sid, peer_id: '00'.repeat(20), ip: this.ip, port: this.boundPort ?? 0, role: this.identity.role };
  }

  listen(host: TransportHost): Promise<number> {
    this.host = host;
    this.boundPort = this.net.bind(this, this.ip, this.fixedPort);
    return Promise.resolve(this.boundPort);
  }

  /**
   * The opening as the TCP transport makes it: the dialer's hello reaches the
   * acceptor, which checks the dialer (refused? room?) and answers; the dialer
   * checks the acceptor in turn when the answer arrives.
   */
  dial(peer: ChannelPeer, settled: () => void): void {
    const host = this.host;
    const net = this.net;
    const me = this.identity.sid;
    if (this.closed || !host) return settled();
    net.carry(me, peer.sid, OPENING_BYTES, () => {
      const acceptor = net.lookup(peer.ip, peer.port);
      const ok = acceptor?.accepts(this.identity, peer.sid);
      if (!acceptor || !ok) {
        // The refusal (or a reset, when nobody listens there) travels back.
        net.carry(peer.sid, me, 0, settled, noop);
        return;
      }
      const [mine, theirs] = MemoryLink.pair(net, this.identity, acceptor.identity);
      // The answer goes out before the acceptor's engine hears of the link, so it is ahead of whatever that sends.
      net.carry(peer.sid, me, OPENING_BYTES, () => {
        settled();
        if (this.closed || host.refused(peer.sid)) {
          mine.close(this.closed ? 'shutting down' : 'refused');
          return;
        }
        host.link(mine, true);
      }, noop);
      (acceptor.host as TransportHost).link(theirs, false);
    }, noop);
  }

  /** Whether a hello from `dialer` to `sid` is taken now. */
  accepts(dialer: LinkIdentity, sid: string): boolean {
    const host = this.host;
    return !this.closed && host !== null && sid === this.identity.sid && host.canAccept() && !host.refused(dialer.sid);
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.boundPort !== null) this.net.unbind(this.ip, this.boundPort);
    return Promise.resolve();
  }
}

function noop(): void {}
