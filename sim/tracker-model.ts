/**
 * The tracker as the simulated peers see it: who is in the swarm, and a
 * random part of it for each announce (step d: response-hook.ts samples the
 * store, never listing the requester). Joins and leaves (steps B, D) are
 * reported at once; the round trip of an announce is the caller's to model.
 * Admission, tokens and revocations are not simulated.
 */
import type { ChannelPeer } from '../src/protocol/tracker-channel.js';
import type { Rng } from './rng.js';

export class TrackerModel {
  /** Members in an array for O(1) random picks, with each one's index for O(1) removal (swap with the last). */
  private readonly members: ChannelPeer[] = [];
  private readonly index = new Map<string, number>();
  announces = 0;

  constructor(private readonly rng: Rng) {}

  get size(): number {
    return this.members.length;
  }

  has(sid: string): boolean {
    return this.index.has(sid);
  }

  /** Step B: the tracker lists the session. */
  join(peer: ChannelPeer): void {
    if (this.index.has(peer.sid)) return;
    this.index.set(peer.sid, this.members.length);
    this.members.push(peer);
  }

  /** Step D (or a `stopped` announce): the session is no longer listed. */
  leave(sid: string): void {
    const i = this.index.get(sid);
    if (i === undefined) return;
    const last = this.members.pop() as ChannelPeer;
    this.index.delete(sid);
    if (last.sid !== sid) {
      this.members[i] = last;
      this.index.set(last.sid, i);
    }
  }

  /** An announce's answer: up to `numwant` members other than `sid`, uniformly at random. */
  announce(sid: string, numwant: number): ChannelPeer[] {
    this.announces++;
    return this.rng.sample(this.members, numwant, (p) => p.sid === sid);
  }
}
