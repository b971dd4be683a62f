/**
 * The trackers connected over the control link right now. Admission hands out
 * the most recently connected one. An id belongs to one connection at a time:
 * a second connection claiming it is refused until the first has closed (an
 * impostor or a stale duplicate must not take over a live tracker's place).
 */
import type { ControlToTracker } from '../protocol/control-link.js';

export interface TrackerInfo {
  id: string;
  /** BEP 3 HTTP announce URL. */
  announceUrl: string;
  /** gatecast's WebSocket channel URL. */
  wsUrl: string;
  /** Epoch ms of its hello. */
  connectedAt: number;
}

export interface TrackerConnection {
  info: TrackerInfo;
  send(msg: ControlToTracker): void;
  /** False once the connection is closing: a tracker redialling under the same id may then take its place. */
  open(): boolean;
}

export class TrackerRegistry {
  private readonly byId = new Map<string, TrackerConnection>();
  private seq = 0;
  private readonly order = new Map<string, number>();

  /** False (and nothing changes) if another open connection holds the id. */
  register(conn: TrackerConnection): boolean {
    const held = this.byId.get(conn.info.id);
    if (held && held !== conn && held.open()) return false;
    this.byId.set(conn.info.id, conn);
    this.order.set(conn.info.id, this.seq++);
    return true;
  }

  /** Removes the tracker only if `conn` is still its live connection (not one that replaced it). */
  unregister(conn: TrackerConnection): void {
    if (this.byId.get(conn.info.id) === conn) {
      this.byId.delete(conn.info.id);
      this.order.delete(conn.info.id);
    }
  }

  get(id: string): TrackerConnection | undefined {
    return this.byId.get(id);
  }

  /** The most recently connected tracker, if any. */
  current(): TrackerInfo | undefined {
    let best: TrackerConnection | undefined;
    let bestSeq = -1;
    for (const [id, conn] of this.byId) {
      const s = this.order.get(id) ?? -1;
      if (s > bestSeq) {
        best = conn;
        bestSeq = s;
      }
    }
    return best?.info;
  }

  list(): TrackerInfo[] {
    return [...this.byId.values()].map((c) => ({ ...c.info }));
  }
}
