/**
 * The trackers connected over the control link right now. Admission lists
 * them all (listAll(), rotated per admission: admission.ts). An id belongs to one connection at a time:
 * a second connection claiming it is refused until the first has closed (an
 * impostor or a stale duplicate must not take over a live tracker's place).
 *
 * With several control servers, the trackers linked to the others are known
 * from the shared directory (tracker-directory.ts keeps `remote` current):
 * listAll() is every tracker of the cluster, locate() which instance holds one.
 */
import { EventEmitter } from 'node:events';
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

/** A tracker linked to another control server instance (from the shared directory). */
export interface RemoteTracker extends TrackerInfo {
  instance: string;
}

export interface TrackerRegistryEvents {
  registered: [TrackerInfo];
  unregistered: [TrackerInfo];
}

export class TrackerRegistry extends EventEmitter<TrackerRegistryEvents> {
  private readonly byId = new Map<string, TrackerConnection>();
  private remote: RemoteTracker[] = [];

  /** False (and nothing changes) if another open connection holds the id. */
  register(conn: TrackerConnection): boolean {
    const held = this.byId.get(conn.info.id);
    if (held && held !== conn && held.open()) return false;
    this.byId.set(conn.info.id, conn);
    this.emit('registered', { ...conn.info });
    return true;
  }

  /** Removes the tracker only if `conn` is still its live connection (not one that replaced it). */
  unregister(conn: TrackerConnection): void {
    if (this.byId.get(conn.info.id) === conn) {
      this.byId.delete(conn.info.id);
      this.emit('unregistered', { ...conn.info });
    }
  }

  get(id: string): TrackerConnection | undefined {
    return this.byId.get(id);
  }

  /** The trackers linked to this control server. */
  list(): TrackerInfo[] {
    return [...this.byId.values()].map((c) => ({ ...c.info }));
  }

  /**
   * Every tracker of the cluster: those linked here, then those the shared directory says are linked to other
   * control servers (by id; one linked here wins). Synchronous: the directory is read every
   * DEFAULTS.clusterDirectoryRefreshMs, so a tracker linked elsewhere shows up within that. One control server: list().
   */
  listAll(): TrackerInfo[] {
    const local = this.list();
    const ids = new Set(local.map((t) => t.id));
    const others = this.remote.filter((t) => !ids.has(t.id)).map(({ instance: _instance, ...info }) => info);
    return [...local, ...others];
  }

  /**
   * The ids of the trackers linked here whose link has not been superseded: a tracker the shared directory shows
   * saying hello to another instance after it said hello here has moved (our end of its link is stale, and goes at
   * the next keepalive). The orchestrator drives disconnects only for these.
   */
  heldHere(): string[] {
    const newer = new Map(this.remote.map((t) => [t.id, t.connectedAt]));
    return [...this.byId.values()].filter((c) => !(c.info.connectedAt < (newer.get(c.info.id) ?? -Infinity))).map((c) => c.info.id);
  }

  /** Which control server holds a tracker's link: 'here', another instance's id, or undefined (none we know of). */
  locate(trackerId: string): string | undefined {
    if (this.byId.has(trackerId)) return 'here';
    return this.remote.find((t) => t.id === trackerId)?.instance;
  }

  /** The trackers linked to other instances, as last read from the shared directory. */
  setRemote(trackers: readonly RemoteTracker[]): void {
    this.remote = trackers.map((t) => ({ ...t }));
  }
}
