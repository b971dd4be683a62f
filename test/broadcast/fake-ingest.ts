/** An Ingest fed by the test, chunk by chunk, that says when the consumer has taken everything. */
import type { Ingest } from '../../src/broadcast/ingest.js';

export class FakeIngest implements Ingest {
  stopped = false;
  private queue: (Buffer | Error)[] = [];
  private ended = false;
  private wake: (() => void) | null = null;
  private idleWaiters: (() => void)[] = [];

  readonly chunks: AsyncIterable<Buffer> = this.read();

  push(chunk: Buffer): void {
    this.queue.push(chunk);
    this.poke();
  }

  fail(err: Error): void {
    this.queue.push(err);
    this.poke();
  }

  end(): void {
    this.ended = true;
    this.poke();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.end();
  }

  /** Resolves once the consumer has handled every chunk pushed so far and asks for more. */
  idle(): Promise<void> {
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private async *read(): AsyncGenerator<Buffer> {
    for (;;) {
      const item = this.queue.shift();
      if (item instanceof Error) throw item;
      if (item) {
        yield item;
        continue;
      }
      if (this.ended) return;
      for (const w of this.idleWaiters.splice(0)) w();
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}
