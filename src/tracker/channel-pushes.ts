/**
 * Pushes to clients' channels that wait for the client's ack (the `revoked`
 * notices of the enforcement step): each is resent every retry period until
 * the client acks its id. A push is given up when its channel closes, when its
 * recipient is no longer worth telling (it left the swarm), or after a bounded
 * number of attempts, so a client that never acks cannot hold timers forever.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import type { TrackerToClient } from '../protocol/tracker-channel.js';
import type { ChannelHandle } from './types.js';

export const PUSH_MAX_ATTEMPTS = 20;

export type AckedPush = Extract<TrackerToClient, { type: 'revoked' }>;

interface Entry {
  msg: AckedPush;
  alive: () => boolean;
  attempts: number;
  timer: TimerHandle | null;
}

export class ChannelPushes {
  private readonly byChannel = new Map<ChannelHandle, Map<string, Entry>>();
  private readonly maxAttempts: number;

  constructor(private readonly deps: { clock: Clock; retryMs: number; maxAttempts?: number }) {
    this.maxAttempts = deps.maxAttempts ?? PUSH_MAX_ATTEMPTS;
  }

  /** Sends now and keeps resending until acked; a push already under way (same channel and id) is left alone. */
  push(channel: ChannelHandle, msg: AckedPush, alive: () => boolean): void {
    let entries = this.byChannel.get(channel);
    if (!entries) {
      entries = new Map();
      this.byChannel.set(channel, entries);
    }
    if (entries.has(msg.id)) return;
    entries.set(msg.id, { msg, alive, attempts: 0, timer: null });
    this.transmit(channel, msg.id);
  }

  /** The client acked `id`; an ack for nothing pending changes nothing. */
  acked(channel: ChannelHandle, id: string): void {
    this.forget(channel, id);
  }

  /** Pushes not yet acked nor given up. */
  get size(): number {
    let n = 0;
    for (const entries of this.byChannel.values()) n += entries.size;
    return n;
  }

  close(): void {
    for (const entries of this.byChannel.values()) for (const e of entries.values()) e.timer?.cancel();
    this.byChannel.clear();
  }

  private transmit(channel: ChannelHandle, id: string): void {
    const entry = this.byChannel.get(channel)?.get(id);
    if (!entry) return;
    if (!channel.open || !entry.alive() || entry.attempts >= this.maxAttempts) {
      this.forget(channel, id);
      return;
    }
    entry.attempts++;
    channel.send(entry.msg);
    entry.timer = this.deps.clock.setTimeout(() => this.transmit(channel, id), this.deps.retryMs);
  }

  private forget(channel: ChannelHandle, id: string): void {
    const entries = this.byChannel.get(channel);
    const entry = entries?.get(id);
    if (!entries || !entry) return;
    entry.timer?.cancel();
    entries.delete(id);
    if (entries.size === 0) this.byChannel.delete(channel);
  }
}
