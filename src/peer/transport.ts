/**
 * What the swarm engine is given to reach other peers: a transport that
 * dials and accepts, and hands back each connection once the remote is
 * authenticated, as a message-level PeerLink.
 *
 * TCP is the transport today (tcp-transport.ts: socket, Noise channel,
 * BitTorrent wire, token exchange; tcp-peer-link.ts adapts each authenticated
 * PeerConnection into a PeerLink). The
 * in-memory transport (memory-transport.ts) passes the same messages as
 * objects, for the swarm's own tests and for the simulator, which runs the
 * real policies over modelled links; a WebRTC transport will be a third. The
 * engine above this line never sees a socket, a byte of wire or a key: which
 * is what lets 10,000 simulated viewers run the same code as one real one.
 */
import type { EventEmitter } from 'node:events';
import type { ChannelPeer } from '../protocol/tracker-channel.js';

/** Who is at the other end, as its token (checked by the transport) says. */
export interface LinkIdentity {
  sid: string;
  user: string;
  role: 'viewer' | 'source';
}

export interface LinkRequest {
  seq: number;
  begin: number;
  length: number;
}

export interface LinkBlock {
  seq: number;
  begin: number;
  block: Buffer;
}

/** Events of an authenticated link; each mirrors a sending method below. */
export interface PeerLinkEvents {
  window: [window: { base: number; bits: Buffer }];
  have: [seq: number];
  request: [request: LinkRequest];
  piece: [piece: LinkBlock];
  cancel: [request: LinkRequest];
  choke: [];
  unchoke: [];
  interested: [];
  'not-interested': [];
  /** The remote is about to disconnect (step C); the link closes right after. */
  leaving: [reason: string];
  /** What we queued has gone out: more may be sent. */
  drain: [];
  /** Exactly once per link. */
  close: [reason: string];
}

/**
 * One authenticated connection to one peer, at the level of BitTorrent
 * messages (BEP 3 plus the gc_live extension). Sending methods return false
 * when the link's send buffer is full (wait for 'drain') or it is closed.
 */
export interface PeerLink extends EventEmitter<PeerLinkEvents> {
  readonly remote: LinkIdentity;
  readonly closed: boolean;
  readonly amChoking: boolean;
  readonly remoteChoking: boolean;
  readonly remoteInterested: boolean;
  sendWindow(base: number, bits: Buffer): boolean;
  have(seq: number): boolean;
  request(seq: number, begin: number, length: number): boolean;
  sendPiece(seq: number, begin: number, block: Buffer): boolean;
  cancel(seq: number, begin: number, length: number): boolean;
  choke(): boolean;
  unchoke(): boolean;
  interested(): boolean;
  notInterested(): boolean;
  leaving(reason: string): boolean;
  /** Our renewed token, so the remote keeps the link past the old one's expiry. */
  sendToken(token: string): boolean;
  close(reason?: string): void;
}

/** What a transport asks of the engine that owns it. */
export interface TransportHost {
  /** A link whose remote is authenticated. `outbound`: we dialed it. */
  link(link: PeerLink, outbound: boolean): void;
  /** Whether an inbound connection may be taken now (authenticated peers below the limit). */
  canAccept(): boolean;
  /** Revoked or banned: refused at authentication. */
  refused(sid: string): boolean;
  log(line: string): void;
}

export interface Transport {
  /** The port peers reach us on once listening (null before, or where there are no ports). */
  readonly port: number | null;
  /** Inbound connections taken but not authenticated yet (TCP: sockets in their Noise or token exchange). */
  readonly pendingInbound: number;
  /** Starts accepting. Returns the port peers reach us on, or null where there are no ports. */
  listen(host: TransportHost): Promise<number | null>;
  /** Dials one listed peer; `settled` runs once, when it authenticated, failed or was refused. */
  dial(peer: ChannelPeer, settled: () => void): void;
  /** Stops accepting and ends every connection not yet handed over. */
  close(): Promise<void>;
}
