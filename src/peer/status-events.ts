/**
 * The player page's live status: server-sent events on GET /events. Each open
 * page gets a `status` event at once and then every interval; when the
 * session ends, an `end` event with the reason, after which its response
 * ends. `finish` resolves once every open page has been handed its `end`
 * event (or after a bound), so `watch` can exit right after without the page
 * missing why: with no page open it resolves at once.
 */
import type { ServerResponse } from 'node:http';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { PlaybackEnd, PlayerStatus } from './player-status.js';

export interface StatusEventsOptions {
  clock: Clock;
  /** The figures to push; called once per interval while a page is open. */
  status: () => PlayerStatus;
  /** Push period (default 1 s). */
  intervalMs?: number;
  /** Longest wait in finish() for open pages to take their end event (default 2 s). */
  lingerMs?: number;
}

export const STATUS_EVENTS_INTERVAL_MS = 1_000;
export const STATUS_EVENTS_LINGER_MS = 2_000;
/** Unsent bytes past which a page that does not read its events is dropped. */
const MAX_QUEUED_BYTES = 64 * 1024;

export class StatusEvents {
  private readonly pages = new Set<ServerResponse>();
  private timer: TimerHandle | null = null;
  private end: PlaybackEnd | null = null;

  constructor(private readonly opts: StatusEventsOptions) {}

  /** Pages open now. */
  get open(): number {
    return this.pages.size;
  }

  /** Takes a GET /events response and keeps it open until the end (or the page leaves). */
  add(res: ServerResponse, headers: Record<string, string>): void {
    res.writeHead(200, { ...headers, 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store' });
    res.socket?.setNoDelay(true);
    // EventSource's reconnect delay, should the viewer restart its server (not after an end: the page closes it).
    res.write('retry: 2000\n\n');
    if (this.end) {
      this.send(res, 'status', this.snapshot());
      this.send(res, 'end', this.end);
      res.end();
      return;
    }
    this.pages.add(res);
    res.on('close', () => {
      this.pages.delete(res);
      if (this.pages.size === 0) this.stopTimer();
    });
    this.send(res, 'status', this.snapshot());
    this.timer ??= this.opts.clock.setInterval(() => this.push(), this.opts.intervalMs ?? STATUS_EVENTS_INTERVAL_MS);
  }

  /** Tells every open page how the session ended; resolves when each has it (at most lingerMs). */
  finish(end: PlaybackEnd): Promise<void> {
    if (this.end) return Promise.resolve();
    this.end = end;
    this.stopTimer();
    const status = this.snapshot();
    const handedOver = [...this.pages].map(
      (res) =>
        new Promise<void>((resolve) => {
          this.send(res, 'status', status);
          this.send(res, 'end', end);
          // 'finish': the last bytes are with the kernel, which delivers them even if we exit now.
          res.once('finish', resolve);
          res.once('close', resolve);
          res.end();
        }),
    );
    this.pages.clear();
    if (handedOver.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const bound = this.opts.clock.setTimeout(resolve, this.opts.lingerMs ?? STATUS_EVENTS_LINGER_MS);
      void Promise.all(handedOver).then(() => {
        bound.cancel();
        resolve();
      });
    });
  }

  close(): void {
    this.stopTimer();
    for (const res of this.pages) res.end();
    this.pages.clear();
  }

  private snapshot(): PlayerStatus | { error: string } {
    try {
      return this.opts.status();
    } catch {
      return { error: 'status unavailable' };
    }
  }

  private push(): void {
    const status = this.snapshot();
    for (const res of this.pages) this.send(res, 'status', status);
  }

  private send(res: ServerResponse, event: string, data: unknown): void {
    if (res.destroyed || res.writableEnded) return;
    // A page that stopped reading would queue a few hundred bytes a second for ever: drop it (its EventSource reconnects).
    if (res.writableLength > MAX_QUEUED_BYTES) {
      res.destroy();
      return;
    }
    // JSON has no raw newlines, so one data line carries it.
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private stopTimer(): void {
    this.timer?.cancel();
    this.timer = null;
  }
}
