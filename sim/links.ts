/**
 * The network between simulated peers: when a message sent now arrives.
 * Each node has an uplink of limited rate (piece blocks leave one after the
 * other, so a busy uplink delays every connection's blocks; a small message
 * is not queued behind other connections' blocks, as a fair-queuing line
 * treats a sparse flow) and an access latency; a message
 * from a to b travels a's and b's access latencies. A link delivers in order
 * (it stands for a TCP connection), and a lost message stands for a TCP
 * retransmission: it, and everything behind it on that link, arrives one
 * retransmission timeout later. Downlinks are taken to be ample.
 */
import type { EventClock } from './event-clock.js';
import type { Rng } from './rng.js';

/** Messages up to this size (haves, requests, windows, choke/unchoke) are a sparse flow on the uplink. */
const SPARSE_BYTES = 1024;

export interface LinkProfile {
  name: string;
  /** A node's access latency is drawn uniformly from this range (ms); a pair's one-way latency is the sum of both ends'. */
  accessMs: [number, number];
  /** A viewer's uplink, in multiples of the stream's bitrate, drawn uniformly from this range; null: no limit. */
  viewerUpX: [number, number] | null;
  /** Chance that one message is lost (and retransmitted). */
  loss: number;
  /** Retransmission timeout floor (Linux: 200 ms). */
  rtoMinMs: number;
  /**
   * A receiver reads its sockets once per turn of its event loop: arrivals are
   * rounded up to the next multiple of this (ms), so what arrives within one
   * turn is handled together and the engine's once-per-turn work (one pass of
   * the picker after a burst of haves) runs once for it, as in a real process.
   */
  turnMs: number;
  /** Program request answered: admission delay (ms) = this + a round trip to the control server... */
  admissionMs: number;
  /** ...and the tracker's answer: this + a round trip. */
  trackerMs: number;
}

export const PROFILES: Record<string, LinkProfile> = {
  /**
   * The real bench's set-up, to validate against it: every process on one machine over 127.0.0.1, caps from the
   * clients' token buckets (2× the stream), and 10 ms turns: the bench runs 20 viewers per worker process, whose
   * event-loop delay p99 it measures at 32–67 ms. The turn is the one figure fitted to the bench (of 1, 5, 10 and
   * 20 ms, 10 matched its latency best; see bench/RESULTS.md "Simulator").
   */
  bench: { name: 'bench', accessMs: [0.05, 0.05], viewerUpX: null, loss: 0, rtoMinMs: 200, turnMs: 10, admissionMs: 90, trackerMs: 10 },
  /** One idle machine's loopback: as `bench` with each viewer's loop to itself. */
  loopback: { name: 'loopback', accessMs: [0.05, 0.05], viewerUpX: null, loss: 0, rtoMinMs: 200, turnMs: 1, admissionMs: 90, trackerMs: 10 },
  /** Home lines: 10–150 ms one way between two viewers, uplinks 2–5× the stream, 0.1% of messages retransmitted. */
  wan: { name: 'wan', accessMs: [5, 75], viewerUpX: [2, 5], loss: 0.001, rtoMinMs: 200, turnMs: 5, admissionMs: 60, trackerMs: 5 },
};

export interface NodeLink {
  /** Uplink in bytes per second; null: no limit. */
  upBytesPerS: number | null;
  accessMs: number;
}

interface Node extends NodeLink {
  /** When the uplink has sent everything queued so far. */
  upFreeAt: number;
  /** Per destination: when the last message on that link arrives (in-order delivery). */
  lastArrival: Map<string, number>;
}

export class LinkModel {
  private readonly nodes = new Map<string, Node>();
  /** The last sender looked up: a have goes to every peer in one go, so the next message is most often from it too. */
  private lastFrom: string | null = null;
  private lastSrc: Node | undefined = undefined;
  messages = 0;
  bytes = 0;
  retransmitted = 0;

  constructor(
    private readonly clock: EventClock,
    private readonly rng: Rng,
    readonly profile: LinkProfile,
  ) {}

  addNode(id: string, link: NodeLink): void {
    this.nodes.set(id, { ...link, upFreeAt: 0, lastArrival: new Map() });
    this.lastFrom = null;
  }

  /** A viewer's link as the profile draws it; `bitrateBps` scales the uplink. */
  drawViewer(bitrateBps: number): NodeLink {
    const [lo, hi] = this.profile.accessMs;
    const up = this.profile.viewerUpX;
    return {
      accessMs: this.rng.between(lo, hi),
      upBytesPerS: up === null ? null : (this.rng.between(up[0], up[1]) * bitrateBps) / 8,
    };
  }

  /** The node's uplink (bytes/s), or null. */
  uplink(id: string): number | null {
    return this.nodes.get(id)?.upBytesPerS ?? null;
  }

  /** One-way latency between two nodes, ms. */
  latencyMs(from: string, to: string): number {
    return (this.nodes.get(from)?.accessMs ?? 0) + (this.nodes.get(to)?.accessMs ?? 0);
  }

  /** Node left: forget its links. */
  removeNode(id: string): void {
    this.nodes.delete(id);
    this.lastFrom = null;
  }

  /**
   * A message of `bytes` from `from` to `to`, sent now (memory-transport's
   * DeliveryModel): `sent` runs when its last byte has left the sender's
   * uplink, `arrive` when it reaches `to`.
   */
  readonly deliver = (from: string, to: string, bytes: number, arrive: () => void, sent: () => void): void => {
    const now = this.clock.now();
    if (from !== this.lastFrom) {
      this.lastFrom = from;
      this.lastSrc = this.nodes.get(from);
    }
    const src = this.lastSrc;
    const dst = this.nodes.get(to);
    this.messages++;
    this.bytes += bytes;
    let departs = now;
    if (src && src.upBytesPerS !== null) {
      const wire = (bytes * 1000) / src.upBytesPerS;
      if (bytes <= SPARSE_BYTES) {
        // A small message on a connection with nothing queued does not wait behind other connections' blocks
        // (fair queuing, as fq_codel and per-flow TCP fairness give); it still uses its share of the line.
        departs = now + wire;
        src.upFreeAt = Math.max(now, src.upFreeAt) + wire;
      } else {
        departs = Math.max(now, src.upFreeAt) + wire;
        src.upFreeAt = departs;
      }
    }
    if (departs > now) this.clock.at(this.turn(departs), sent);
    else sent();
    const oneWay = (src?.accessMs ?? 0) + (dst?.accessMs ?? 0);
    let arrives = departs + oneWay;
    if (this.rng.chance(this.profile.loss)) {
      this.retransmitted++;
      arrives += Math.max(this.profile.rtoMinMs, 2 * oneWay);
    }
    if (src) {
      const last = src.lastArrival.get(to) ?? 0;
      if (arrives < last) arrives = last;
      src.lastArrival.set(to, arrives);
    }
    this.clock.at(this.turn(arrives), arrive);
  };

  private turn(t: number): number {
    const q = this.profile.turnMs;
    return q > 0 ? Math.ceil(t / q) * q : t;
  }

  /** Bytes queued on a node's uplink not yet sent, as of now. */
  queuedBytes(id: string): number {
    const n = this.nodes.get(id);
    if (!n || n.upBytesPerS === null) return 0;
    return Math.max(0, ((n.upFreeAt - this.clock.now()) * n.upBytesPerS) / 1000);
  }
}
