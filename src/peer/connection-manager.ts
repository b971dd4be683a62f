/**
 * Connection management, whatever the transport: which listed peers to dial
 * (until half of maxPeers are ours, counting dials under way; newcomers dial
 * us for the rest), whether an inbound connection may be taken (authenticated
 * peers below twice maxPeers), who is refused (revoked or banned), and which
 * of two connections to one session survives (the one opened by the smaller
 * sid, so both ends agree). It keeps the one live link per session and tells
 * its owner when one comes up or goes down.
 */
import type { ChannelPeer } from '../protocol/tracker-channel.js';
import type { PeerLink, Transport, TransportHost } from './transport.js';

export interface ConnectionManagerDeps {
  /** Our own session id: never dialed, and the tie-break for duplicates. */
  sid: string;
  maxPeers: number;
  transport: Transport;
  /** A link to a session we had no link to (or that replaced a duplicate). */
  up: (link: PeerLink) => void;
  /** A link we kept went down; `replaced`: a duplicate to the same session took its place. */
  down: (link: PeerLink, reason: string, replaced: boolean) => void;
  log: (line: string) => void;
}

export class ConnectionManager implements TransportHost {
  private readonly links = new Map<string, PeerLink>();
  /** Sessions we dialed whose link is not up yet (they count against our dial target). */
  private readonly dialing = new Set<string>();
  private readonly revokedSids = new Set<string>();
  private readonly bannedSids = new Set<string>();
  private closed = false;

  constructor(private readonly deps: ConnectionManagerDeps) {}

  get count(): number {
    return this.links.size;
  }

  get(sid: string): PeerLink | undefined {
    return this.links.get(sid);
  }

  /** Dials peers from a tracker list, up to the dial target. */
  connect(list: readonly ChannelPeer[]): void {
    for (const p of list) {
      // Only authenticated peers and our own dials count: inbound strangers can't stop us dialing.
      if (this.closed || this.links.size + this.dialing.size >= this.dialTarget()) return;
      if (p.sid === this.deps.sid || this.links.has(p.sid) || this.dialing.has(p.sid) || this.refused(p.sid)) continue;
      this.dialing.add(p.sid);
      this.deps.transport.dial(p, () => this.dialing.delete(p.sid));
    }
  }

  revoke(sid: string): boolean {
    if (this.revokedSids.has(sid)) return false;
    this.revokedSids.add(sid);
    return true;
  }

  isRevoked(sid: string): boolean {
    return this.revokedSids.has(sid);
  }

  ban(sid: string): void {
    this.bannedSids.add(sid);
  }

  /** Closes every link and takes no more. */
  closeAll(reason: string): void {
    this.closed = true;
    for (const link of [...this.links.values()]) link.close(reason);
  }

  // --- TransportHost ---------------------------------------------------------

  canAccept(): boolean {
    return !this.closed && this.links.size < this.deps.maxPeers * 2;
  }

  refused(sid: string): boolean {
    return this.revokedSids.has(sid) || this.bannedSids.has(sid);
  }

  log(line: string): void {
    this.deps.log(line);
  }

  link(link: PeerLink, outbound: boolean): void {
    const sid = link.remote.sid;
    if (this.closed || this.refused(sid)) {
      link.close(this.closed ? 'shutting down' : 'refused');
      return;
    }
    const existing = this.links.get(sid);
    if (existing) {
      // Both sides dialed: keep the connection opened by the smaller sid, so both ends agree.
      const opener = outbound ? this.deps.sid : sid;
      const otherOpener = outbound ? sid : this.deps.sid;
      if (opener >= otherOpener) {
        link.close('duplicate connection');
        return;
      }
      this.links.delete(sid);
      this.deps.down(existing, 'duplicate connection', true);
      existing.close('duplicate connection');
    }
    this.links.set(sid, link);
    link.once('close', (reason) => {
      if (this.links.get(sid) !== link) return;
      this.links.delete(sid);
      this.deps.down(link, reason, false);
    });
    this.deps.up(link);
  }

  /** Peers we dial for ourselves: half of maxPeers (the connection limit counts both ends' dials). */
  private dialTarget(): number {
    return Math.max(1, Math.ceil(this.deps.maxPeers / 2));
  }
}
