/**
 * The picker's memory of its last pass that asked for nothing, so the next
 * pass can be answered without running it when nothing it reads has changed:
 * the picker's own state (a version it bumps on every change a pass reads),
 * the peers it was given, the piece interval, and the clock only through
 * endgame, whose "first request outstanding long enough" turns true at a
 * known time. A viewer runs a pass on every tick and after every turn with
 * news, and most find nothing to ask: replaying one is a comparison, not a
 * walk over the wanted pieces and their holders. The answer is the pass's to
 * the last detail: the same nothing, and the same turn of the tie rotation.
 */
import type { AssignPeer } from './picker-options.js';

export class IdlePass {
  private valid = false;
  private version = 0;
  private interval = 0;
  private at = 0;
  /** The oldest "latest request" among the in-flight pieces that only time kept out of endgame (Infinity: none). */
  private waitingSince = Infinity;
  private rotation = 0;
  private readonly keys: string[] = [];
  private readonly maxInFlight: number[] = [];
  private readonly isSource: boolean[] = [];

  /**
   * The tie rotation the remembered pass added, if a pass now (picker state
   * `version`, at `nowMs`) would be that same pass; else null (run it).
   */
  replay(version: number, nowMs: number, interval: number, peers: readonly AssignPeer[], endgameAfterMs: number): number | null {
    // Time must not have gone back: an endgame allowed then would be refused now, which changes the rotation.
    if (!this.valid || version !== this.version || interval !== this.interval || !(nowMs >= this.at)) return null;
    // nowMs - x only shrinks as x grows: if the oldest is still too recent, so is every other.
    if (!(nowMs - this.waitingSince < endgameAfterMs)) return null;
    if (peers.length !== this.keys.length) return null;
    for (let i = 0; i < peers.length; i++) {
      const p = peers[i] as AssignPeer;
      if (p.key !== this.keys[i] || p.maxInFlight !== this.maxInFlight[i] || p.isSource !== this.isSource[i]) return null;
    }
    return this.rotation;
  }

  remember(version: number, nowMs: number, interval: number, waitingSince: number, rotation: number, peers: readonly AssignPeer[]): void {
    this.valid = true;
    this.version = version;
    this.at = nowMs;
    this.interval = interval;
    this.waitingSince = waitingSince;
    this.rotation = rotation;
    const n = peers.length;
    this.keys.length = n;
    this.maxInFlight.length = n;
    this.isSource.length = n;
    for (let i = 0; i < n; i++) {
      const p = peers[i] as AssignPeer;
      this.keys[i] = p.key;
      this.maxInFlight[i] = p.maxInFlight;
      this.isSource[i] = p.isSource;
    }
  }

  forget(): void {
    this.valid = false;
  }
}
