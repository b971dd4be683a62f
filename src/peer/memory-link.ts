/**
 * One end of an in-memory connection (memory-transport.ts): each sending
 * method becomes the matching event at the other end, carried by the
 * network's delivery model with a size close to the wire's, so upload caps
 * and latencies apply as they would to the bytes. A block is passed by
 * reference, never copied.
 */
import { EventEmitter } from 'node:events';
import type { LinkIdentity, PeerLink, PeerLinkEvents } from './transport.js';

/** What a link needs of its network. */
export interface LinkCarrier {
  readonly sendBufferBytes: number;
  carry(from: string, to: string, bytes: number, arrive: () => void, sent: () => void): void;
}

/** Wire sizes: a message's 4-byte length and 1-byte id, plus its payload. */
const HEAD = 5;
const U32 = 4;
/** An extended (gc_live) message: ext id plus a small bencoded dict. */
const LIVE = HEAD + 1 + 16;

export class MemoryLink extends EventEmitter<PeerLinkEvents> implements PeerLink {
  private other: MemoryLink | null = null;
  private ended = false;
  private unsent = 0;
  private full = false;
  private flags = { amChoking: true, amInterested: false, remoteChoking: true, remoteInterested: false };
  /** `sent` callbacks by message size, made once: most messages are one of a few sizes (one closure per message less). */
  private readonly sentBy = new Map<number, () => void>();

  private constructor(
    private readonly net: LinkCarrier,
    private readonly local: string,
    readonly remote: LinkIdentity,
  ) {
    super();
  }

  /** Both ends of a new connection between `a` and `b`: the first is a's, the second b's. */
  static pair(net: LinkCarrier, a: LinkIdentity, b: LinkIdentity): [MemoryLink, MemoryLink] {
    const ab = new MemoryLink(net, a.sid, b);
    const ba = new MemoryLink(net, b.sid, a);
    ab.other = ba;
    ba.other = ab;
    return [ab, ba];
  }

  get closed(): boolean {
    return this.ended;
  }
  get amChoking(): boolean {
    return this.flags.amChoking;
  }
  get remoteChoking(): boolean {
    return this.flags.remoteChoking;
  }
  get remoteInterested(): boolean {
    return this.flags.remoteInterested;
  }

  // Each message is one closure that runs at the other end on arrival, unless that end has closed by then.
  sendWindow(base: number, bits: Buffer): boolean {
    const o = this.other;
    return o !== null && this.post(LIVE + bits.length, () => o.ended || o.emit('window', { base, bits }));
  }
  have(seq: number): boolean {
    const o = this.other;
    return o !== null && this.post(HEAD + U32, () => o.ended || o.emit('have', seq));
  }
  request(seq: number, begin: number, length: number): boolean {
    const o = this.other;
    return o !== null && this.post(HEAD + 3 * U32, () => o.ended || o.emit('request', { seq, begin, length }));
  }
  sendPiece(seq: number, begin: number, block: Buffer): boolean {
    const o = this.other;
    return o !== null && this.post(HEAD + 2 * U32 + block.length, () => o.ended || o.emit('piece', { seq, begin, block }));
  }
  cancel(seq: number, begin: number, length: number): boolean {
    const o = this.other;
    return o !== null && this.post(HEAD + 3 * U32, () => o.ended || o.emit('cancel', { seq, begin, length }));
  }
  choke(): boolean {
    return this.setFlag('amChoking', true, 'remoteChoking', 'choke');
  }
  unchoke(): boolean {
    return this.setFlag('amChoking', false, 'remoteChoking', 'unchoke');
  }
  interested(): boolean {
    return this.setFlag('amInterested', true, 'remoteInterested', 'interested');
  }
  notInterested(): boolean {
    return this.setFlag('amInterested', false, 'remoteInterested', 'not-interested');
  }
  leaving(reason: string): boolean {
    // As over TCP: the remote hears `leaving`, then its end closes.
    const o = this.other;
    return (
      o !== null &&
      this.post(LIVE + reason.length, () => {
        if (o.ended) return;
        o.emit('leaving', reason);
        o.end(`peer left: ${reason}`);
      })
    );
  }
  /** Identities are given here, so a renewed token only costs its bytes. */
  sendToken(token: string): boolean {
    return this.post(LIVE + token.length, noop);
  }

  close(reason = 'closed locally'): void {
    if (this.ended) return;
    // The remote hears of it after what was sent before (a FIN behind the data).
    const o = this.other;
    if (o !== null) this.post(0, () => o.end('connection closed by the peer'));
    this.end(reason);
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.emit('close', reason);
  }

  private setFlag(
    flag: 'amChoking' | 'amInterested',
    value: boolean,
    remoteFlag: 'remoteChoking' | 'remoteInterested',
    event: 'choke' | 'unchoke' | 'interested' | 'not-interested',
  ): boolean {
    if (this.ended) return false;
    if (this.flags[flag] === value) return !this.full;
    this.flags[flag] = value;
    const o = this.other;
    return (
      o !== null &&
      this.post(HEAD, () => {
        if (o.ended) return;
        o.flags[remoteFlag] = value;
        o.emit(event);
      })
    );
  }

  /** Queues one message for the other end (`arrive` checks that end is open); false when the send buffer is over its mark (wait for 'drain'). */
  private post(bytes: number, arrive: () => void): boolean {
    if (this.ended || !this.other) return false;
    this.unsent += bytes;
    let sent = this.sentBy.get(bytes);
    if (sent === undefined) {
      sent = () => this.sent(bytes);
      this.sentBy.set(bytes, sent);
    }
    this.net.carry(this.local, this.remote.sid, bytes, arrive, sent);
    if (this.unsent >= this.net.sendBufferBytes) this.full = true;
    return !this.full;
  }

  private sent(bytes: number): void {
    this.unsent -= bytes;
    if (!this.full || this.unsent >= this.net.sendBufferBytes) return;
    this.full = false;
    if (!this.ended) this.emit('drain');
  }
}

function noop(): void {}
