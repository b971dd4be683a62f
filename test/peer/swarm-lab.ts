/**
 * Swarms on an in-memory network in virtual time, for the swarm's own tests:
 * a source that makes a piece every `intervalMs`, viewers, and pieces checked
 * against the source's copy (no signatures) so a forged one is caught.
 */
import { ManualClock } from '../../src/core/clock.js';
import { ProtocolError } from '../../src/core/errors.js';
import type { LivePiece } from '../../src/core/piece.js';
import { MemoryNetwork, type DeliveryModel, type MemoryTransport } from '../../src/peer/memory-transport.js';
import { Swarm, type SwarmOptions } from '../../src/peer/swarm.js';
import type { PeerLink } from '../../src/peer/transport.js';

/** Two 16 KiB blocks and a short one, as a real piece is more than one block. */
export const PIECE_LENGTH = 40_000;
export const INTERVAL_MS = 100;

export interface LabPeer {
  sid: string;
  swarm: Swarm;
  transport: MemoryTransport;
}

/** A scripted peer: no engine, just its links and what arrived on them ("+ms event seq" from its creation). */
export interface FakePeer {
  sid: string;
  transport: MemoryTransport;
  links: PeerLink[];
  log: string[];
}

export class SwarmLab {
  readonly clock = new ManualClock();
  readonly net: MemoryNetwork;
  readonly pieces = new Map<number, LivePiece>();
  private nextSeq = 0;

  constructor(opts: { deliver?: DeliveryModel } = {}) {
    this.net = new MemoryNetwork({ clock: this.clock, ...(opts.deliver ? { deliver: opts.deliver } : {}) });
  }

  async peer(sid: string, role: 'viewer' | 'source', over: Partial<SwarmOptions> = {}): Promise<LabPeer> {
    const transport = this.net.transport({ sid, user: `user-${sid}`, role });
    const swarm = new Swarm({
      sid,
      role,
      clock: this.clock,
      transport,
      checkPiece: (seq, blocks) => this.check(seq, blocks),
      pieceLength: PIECE_LENGTH,
      pieceIntervalMs: () => INTERVAL_MS,
      windowCapacity: 300,
      maxPeers: role === 'source' ? 200 : 24,
      uploadSlots: role === 'source' ? 200 : 16,
      uploadRate: null,
      ...over,
    });
    await swarm.start();
    return { sid, swarm, transport };
  }

  /** A peer that takes every connection and records what it is sent; `onLink` scripts its side. */
  async fake(sid: string, role: 'viewer' | 'source', onLink: (link: PeerLink) => void = () => undefined): Promise<FakePeer> {
    const transport = this.net.transport({ sid, user: `user-${sid}`, role });
    const t0 = this.clock.now();
    const fake: FakePeer = { sid, transport, links: [], log: [] };
    const note = (what: string): void => {
      fake.log.push(`+${this.clock.now() - t0} ${what}`);
    };
    await transport.listen({
      link: (link) => {
        fake.links.push(link);
        link.on('have', (seq) => note(`have ${seq}`));
        link.on('request', (r) => note(`request ${r.seq}/${r.begin}`));
        link.on('cancel', (r) => note(`cancel ${r.seq}/${r.begin}`));
        link.on('choke', () => note('choke'));
        link.on('close', (reason) => note(`close ${reason}`));
        onLink(link);
      },
      canAccept: () => true,
      refused: () => false,
      log: () => undefined,
    });
    return fake;
  }

  /** The source's next piece (or piece `seq`): its bytes name its seq, so a copy of another piece fails the check. */
  makePiece(at?: number): LivePiece {
    const seq = at ?? this.nextSeq++;
    const bytes = Buffer.alloc(PIECE_LENGTH, seq % 251);
    bytes.writeUInt32BE(seq, 0);
    const piece: LivePiece = { seq, timestampMs: this.clock.now(), rapOffset: seq % 10 === 0 ? 0 : null, payload: bytes.subarray(88), bytes };
    this.pieces.set(seq, piece);
    return piece;
  }

  /** The source makes a piece every INTERVAL_MS for `ms`. */
  broadcast(source: Swarm, ms: number): void {
    for (let t = 0; t < ms; t += INTERVAL_MS) {
      source.addLocalPiece(this.makePiece());
      this.clock.advance(INTERVAL_MS);
    }
  }

  /** Runs every timer and message due within `ms`. */
  run(ms = 0): void {
    this.clock.advance(ms);
  }

  /** A piece that claims to be `seq` but is not the source's. */
  forged(seq: number): LivePiece {
    const bytes = Buffer.alloc(PIECE_LENGTH, 0xee);
    return { seq, timestampMs: this.clock.now(), rapOffset: null, payload: bytes.subarray(88), bytes };
  }

  private check(seq: number, blocks: readonly Buffer[]): LivePiece {
    const piece = this.pieces.get(seq);
    if (!piece || !Buffer.concat(blocks).equals(piece.bytes)) throw new ProtocolError(`piece ${seq}: not the source's`);
    return piece;
  }
}

/** Records a swarm's verified pieces, by seq. */
export function received(swarm: Swarm): Map<number, { fromSource: boolean }> {
  const got = new Map<number, { fromSource: boolean }>();
  swarm.on('piece', (p, how) => got.set(p.seq, how));
  return got;
}
