/**
 * An authenticated PeerConnection as the engine sees it: a PeerLink. The
 * connection keeps the wire, the token watch and the flags; this only passes
 * its message events and sending methods through, and fixes the remote's
 * identity, known from authentication on.
 */
import { EventEmitter } from 'node:events';
import type { PeerConnection } from './peer-connection.js';
import type { LinkIdentity, PeerLink, PeerLinkEvents } from './transport.js';

export class TcpPeerLink extends EventEmitter<PeerLinkEvents> implements PeerLink {
  readonly remote: LinkIdentity;

  /** `conn` must be authenticated. */
  constructor(private readonly conn: PeerConnection) {
    super();
    const r = conn.remote;
    if (!r) throw new RangeError('a TcpPeerLink needs an authenticated connection');
    this.remote = { sid: r.sid, user: r.user, role: r.role };
    conn.on('window', (w) => this.emit('window', w));
    conn.on('have', (seq) => this.emit('have', seq));
    conn.on('request', (r) => this.emit('request', r));
    // Copied: the wire hands a block as a view into the socket chunk it was decrypted in, and the engine keeps
    // blocks until their piece is whole; a copy (16 KiB) does not pin that chunk (nor see it reused) meanwhile.
    // The in-memory transport's blocks are the shared piece's own bytes and are not copied.
    conn.on('piece', (p) => this.emit('piece', { seq: p.seq, begin: p.begin, block: Buffer.from(p.block) }));
    conn.on('cancel', (r) => this.emit('cancel', r));
    conn.on('choke', () => this.emit('choke'));
    conn.on('unchoke', () => this.emit('unchoke'));
    conn.on('interested', () => this.emit('interested'));
    conn.on('not-interested', () => this.emit('not-interested'));
    conn.on('leaving', (reason) => this.emit('leaving', reason));
    conn.on('drain', () => this.emit('drain'));
    conn.on('close', (reason) => this.emit('close', reason));
  }

  get closed(): boolean {
    return this.conn.closed;
  }
  get amChoking(): boolean {
    return this.conn.amChoking;
  }
  get remoteChoking(): boolean {
    return this.conn.remoteChoking;
  }
  get remoteInterested(): boolean {
    return this.conn.remoteInterested;
  }

  sendWindow(base: number, bits: Buffer): boolean {
    return this.conn.sendWindow(base, bits);
  }
  have(seq: number): boolean {
    return this.conn.have(seq);
  }
  request(seq: number, begin: number, length: number): boolean {
    return this.conn.request(seq, begin, length);
  }
  sendPiece(seq: number, begin: number, block: Buffer): boolean {
    return this.conn.sendPiece(seq, begin, block);
  }
  cancel(seq: number, begin: number, length: number): boolean {
    return this.conn.cancel(seq, begin, length);
  }
  choke(): boolean {
    return this.conn.choke();
  }
  unchoke(): boolean {
    return this.conn.unchoke();
  }
  interested(): boolean {
    return this.conn.interested();
  }
  notInterested(): boolean {
    return this.conn.notInterested();
  }
  leaving(reason: string): boolean {
    return this.conn.leaving(reason);
  }
  sendToken(token: string): boolean {
    return this.conn.sendToken(token);
  }
  close(reason?: string): void {
    this.conn.close(reason);
  }
}
