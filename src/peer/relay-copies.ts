/**
 * What a relay remembers to order its uploads (relayPriority): how many times
 * each piece's first block went out from us (our copies of it in the swarm),
 * and which piece each peer's copy in progress is.
 */
import { relayPriority, type UploadRequest } from './uploader.js';

export class RelayCopies {
  private readonly copies = new Map<number, number>();
  /** Peer key → the piece whose first block we last sent it. */
  private readonly sending = new Map<string, number>();

  /** A block of `req` leaves for peer `key`. */
  sent(req: UploadRequest, key: string): void {
    if (req.begin !== 0) return;
    this.copies.set(req.seq, (this.copies.get(req.seq) ?? 0) + 1);
    this.sending.set(key, req.seq);
  }

  priority(req: UploadRequest, key: string): number {
    return relayPriority(req, this.copies.get(req.seq) ?? 0, this.sending.get(key) === req.seq);
  }

  /** The piece left the window. */
  forgetPiece(seq: number): void {
    this.copies.delete(seq);
  }

  forgetPeer(key: string): void {
    this.sending.delete(key);
  }
}
