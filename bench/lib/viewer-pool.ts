/**
 * The main process's side of the viewer workers: forks W processes running
 * viewer-worker.ts, places each new viewer on the least loaded one, and
 * collects their reports.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FromWorker, LoopDelay, ToWorker, ViewerReport, WorkerConfig, WorkerViewerSpec } from './ipc.js';
import type { ViewerTraceReport } from './viewer-trace.js';

const WORKER = fileURLToPath(new URL('./viewer-worker.ts', import.meta.url));

type Reply = Extract<FromWorker, { id: number }>;
type Request = ToWorker extends infer T ? (T extends { id: number } ? Omit<T, 'id'> : never) : never;

interface Worker {
  index: number;
  child: ChildProcess;
  viewers: number;
  waiting: Map<number, (msg: Reply) => void>;
}

export interface PoolOptions extends WorkerConfig {
  workers: number;
  /** Extra node flags for the workers, e.g. --cpu-prof. */
  nodeFlags?: string[];
}

export interface PoolStats {
  rssBytes: number;
  viewers: ViewerReport[];
  /** The worst worker's event-loop delay. */
  loopDelayMs: LoopDelay;
  /** CPU time the workers have used, user + system, µs. */
  cpuUs: number;
}

export class ViewerPool {
  private readonly workers: Worker[] = [];
  private readonly where = new Map<string, Worker>();
  private nextId = 1;
  /** Every viewer's end as workers report it (kick scenario). */
  readonly ended = new Map<string, { kind: string; reason: string; at: number }>();
  onEnded: ((session: string, end: { kind: string; reason: string; at: number }) => void) | null = null;

  private constructor() {}

  static async start(opts: PoolOptions): Promise<ViewerPool> {
    const pool = new ViewerPool();
    const config: WorkerConfig = { controlUrl: opts.controlUrl, program: opts.program, uploadRate: opts.uploadRate, host: opts.host, detail: opts.detail };
    await Promise.all(
      Array.from({ length: opts.workers }, (_, index) => {
        const child = fork(WORKER, [JSON.stringify(config)], {
          execArgv: ['--import', 'tsx', ...(opts.nodeFlags ?? [])],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          serialization: 'advanced',
        });
        const w: Worker = { index, child, viewers: 0, waiting: new Map() };
        pool.workers.push(w);
        return new Promise<void>((resolve, reject) => {
          child.once('error', reject);
          child.on('message', (msg: FromWorker) => {
            if (msg.type === 'ready') return resolve();
            if (msg.type === 'ended') {
              const end = { kind: msg.kind, reason: msg.reason, at: msg.at };
              pool.ended.set(msg.session, end);
              pool.onEnded?.(msg.session, end);
              return;
            }
            const done = w.waiting.get(msg.id);
            w.waiting.delete(msg.id);
            done?.(msg);
          });
          child.once('exit', (code) => {
            for (const done of w.waiting.values()) done({ type: 'failed', id: -1, error: `worker ${index} exited with ${String(code)}` });
            w.waiting.clear();
          });
        });
      }),
    );
    return pool;
  }

  get size(): number {
    return this.where.size;
  }

  private call(w: Worker, req: Request): Promise<Reply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      w.waiting.set(id, resolve);
      if (!w.child.connected) {
        w.waiting.delete(id);
        reject(new Error(`worker ${w.index} is gone`));
        return;
      }
      w.child.send({ ...req, id } as ToWorker);
    });
  }

  /** Starts one viewer on the least loaded worker; resolves with its session id. */
  async startViewer(spec: WorkerViewerSpec): Promise<string> {
    const w = this.workers.reduce((a, b) => (b.viewers < a.viewers ? b : a));
    w.viewers++;
    const reply = await this.call(w, { type: 'start', viewer: spec });
    if (reply.type !== 'started') {
      w.viewers--;
      throw new Error(`viewer ${spec.user} did not start: ${reply.type === 'failed' ? reply.error : reply.type}`);
    }
    this.where.set(reply.session, w);
    return reply.session;
  }

  /** The viewer leaves on its own (Ctrl-C); resolves with its last report. */
  async stopViewer(session: string): Promise<ViewerReport | null> {
    const w = this.where.get(session);
    if (!w) return null;
    this.where.delete(session);
    w.viewers--;
    const reply = await this.call(w, { type: 'stop', session });
    return reply.type === 'stopped' ? reply.report : null;
  }

  async stats(): Promise<PoolStats> {
    const replies = await Promise.all(this.workers.map((w) => this.call(w, { type: 'stats' })));
    let rssBytes = 0;
    const viewers: ViewerReport[] = [];
    const loopDelayMs: LoopDelay = { p99: 0, max: 0 };
    let cpuUs = 0;
    for (const r of replies) {
      if (r.type !== 'stats') continue;
      rssBytes += r.rss;
      viewers.push(...r.viewers);
      loopDelayMs.p99 = Math.max(loopDelayMs.p99, r.loopDelayMs.p99);
      loopDelayMs.max = Math.max(loopDelayMs.max, r.loopDelayMs.max);
      cpuUs += r.cpuUs;
    }
    return { rssBytes, viewers, loopDelayMs, cpuUs };
  }

  /** `--detail`: every worker's viewer traces and per-second loop delay. */
  async detail(): Promise<{ traces: ViewerTraceReport[]; loop: Array<Array<[number, number, number]>> }> {
    const replies = await Promise.all(this.workers.map((w) => this.call(w, { type: 'detail' })));
    const traces: ViewerTraceReport[] = [];
    const loop: Array<Array<[number, number, number]>> = [];
    for (const r of replies) {
      if (r.type !== 'detail') continue;
      traces.push(...r.traces);
      loop.push(r.loop);
    }
    return { traces, loop };
  }

  sessions(): string[] {
    return [...this.where.keys()];
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        if (!w.child.connected) return;
        const exited = new Promise<void>((resolve) => w.child.once('exit', () => resolve()));
        await Promise.race([this.call(w, { type: 'shutdown' }).catch(() => undefined), new Promise((r) => setTimeout(r, 10_000))]);
        const timer = setTimeout(() => w.child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}
