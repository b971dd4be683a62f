/**
 * DisconnectNotices within one process: what a SQLite control server (one
 * instance) or a test of several orchestrators sharing one store uses. A
 * notice reaches every subscriber of this object, on the next turn (as one
 * from the database would), never one of another process.
 */
import type { DisconnectNotices } from '../core/ports.js';

export class InProcessDisconnectNotices implements DisconnectNotices {
  private readonly listeners: Array<(id: string) => void> = [];

  async publish(id: string): Promise<void> {
    for (const l of this.listeners) queueMicrotask(() => l(id));
  }

  subscribe(onNotice: (id: string) => void): void {
    this.listeners.push(onNotice);
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}
}
