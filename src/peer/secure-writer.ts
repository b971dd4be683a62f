/**
 * Batches what one turn of the event loop writes to a peer (haves, requests,
 * blocks, from every socket read in that turn) into one write: one encrypted
 * frame and one syscall instead of one each. Past `maxFrameBytes` queued, the
 * frame leaves at once.
 */
import type { PeerSocket } from './secure-channel.js';

export const FRAME_BYTES = 64 * 1024;

export class FrameWriter {
  private queue: Buffer[] = [];
  private queued = 0;
  private scheduled = false;
  private full = false;

  constructor(
    private readonly socket: PeerSocket,
    private readonly maxFrameBytes = FRAME_BYTES,
  ) {}

  /** The last frame filled the stream's buffer: callers should wait for its 'drain'. */
  get blocked(): boolean {
    return this.full;
  }

  push(bytes: Buffer): void {
    if (this.socket.destroyed) return;
    this.queue.push(bytes);
    this.queued += bytes.length;
    if (this.queued >= this.maxFrameBytes) return this.flush();
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes what is queued now, as one frame. */
  flush(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const frame = this.queue.length === 1 ? (this.queue[0] as Buffer) : Buffer.concat(this.queue, this.queued);
    this.queue = [];
    this.queued = 0;
    if (this.socket.destroyed) return;
    if (!this.socket.write(frame)) this.full = true;
  }

  /** The stream drained. */
  drained(): void {
    this.full = false;
  }
}
