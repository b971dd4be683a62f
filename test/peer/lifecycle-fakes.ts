/** Fakes of the client lifecycle's collaborators (tracker channel, control session, swarm) that record every call in order. */
import { EventEmitter } from 'node:events';
import type { ClientError } from '../../src/core/errors.js';
import type { ChannelPeer } from '../../src/protocol/tracker-channel.js';
import type { LifecycleSession, LifecycleSwarm, LifecycleTracker } from '../../src/peer/client-lifecycle.js';

/** Every call the collaborators get, in order, so a test can assert step C's sequence. */
export type Calls = string[];

interface TrackerEvents {
  peers: [ChannelPeer[]];
  disconnect: [{ id: string; reason: string }];
  revoked: [{ id: string; sid: string }];
  lost: [Error];
  warning: [Error];
}

export class FakeTracker extends EventEmitter<TrackerEvents> implements LifecycleTracker {
  connected = true;
  starts = 0;
  announces = 0;
  /** The trackers of the list, and the index of the one in use; `startedOn` records it at each start(). */
  urls = ['ws://t1/ws'];
  at = 0;
  readonly startedOn: string[] = [];
  get trackerCount(): number {
    return this.urls.length;
  }
  /** The lifecycle calls it only with the channel down (the real one ignores it while a channel is open). */
  moveOn(): string {
    this.at = (this.at + 1) % this.urls.length;
    return this.urls[this.at] ?? '';
  }
  /** What the next start() does: resolve with peers, or throw. */
  next: () => ChannelPeer[] = () => [];
  constructor(private readonly calls: Calls) {
    super();
  }
  async start(): Promise<ChannelPeer[]> {
    this.starts++;
    this.startedOn.push(this.urls[this.at] ?? '');
    return this.next();
  }
  async announce(): Promise<ChannelPeer[]> {
    this.announces++;
    return [];
  }
  async stopped(ref?: string): Promise<void> {
    this.calls.push(`tracker.stopped:${ref ?? '-'}`);
  }
  close(): void {
    this.calls.push('tracker.close');
  }
}

export class FakeSession extends EventEmitter<{ ended: [ClientError]; warning: [Error] }> implements LifecycleSession {
  started = 0;
  constructor(private readonly calls: Calls) {
    super();
  }
  start(): void {
    this.started++;
  }
  stop(): void {
    this.calls.push('session.stop');
  }
}

export class FakeSwarm implements LifecycleSwarm {
  peerCount = 0;
  readonly dialled: ChannelPeer[][] = [];
  readonly revoked: string[] = [];
  constructor(private readonly calls: Calls) {}
  connect(peers: ChannelPeer[]): void {
    this.dialled.push(peers);
  }
  revoke(sid: string): void {
    this.revoked.push(sid);
  }
  leaveAll(reason: string): void {
    this.calls.push(`swarm.leaveAll:${reason}`);
  }
  async close(): Promise<void> {
    this.calls.push('swarm.close');
  }
}

/** Lets settled promises' handlers run (the fakes resolve at once; nothing waits on real time). */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
