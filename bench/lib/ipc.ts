/** Messages between the bench's main process and its viewer workers (child_process IPC). */
import type { ViewerStats } from '../../src/peer/viewer.js';
import type { DeviceCredential } from '../../src/protocol/control-api.js';
import type { ViewerTraceReport } from './viewer-trace.js';

export interface WorkerViewerSpec {
  user: string;
  password: string;
  /** `--device`: admitted with this device credential (one SHA-256 at the control server) instead of the password (scrypt). */
  device?: DeviceCredential;
  /** Drop the tracker's `disconnect` handler: a modified client that ignores a kick. */
  ignoreDisconnect?: boolean;
}

export interface WorkerConfig {
  controlUrl: string;
  program: string;
  uploadRate: number | null;
  host: string;
  /** `--detail`: trace every viewer (viewer-trace.ts) and the worker's event loop, second by second. */
  detail?: boolean;
}

export type ToWorker =
  | { type: 'start'; id: number; viewer: WorkerViewerSpec }
  | { type: 'stop'; id: number; session: string }
  | { type: 'stats'; id: number }
  | { type: 'detail'; id: number }
  | { type: 'shutdown'; id: number };

/** Event-loop delay of one process since it started (perf_hooks), ms. */
export interface LoopDelay {
  p99: number;
  max: number;
}

/** One viewer's figures: its Viewer.stats() plus what the worker saw. Times are epoch ms (Date.now in the worker). */
export interface ViewerReport extends ViewerStats {
  user: string;
  /** When the last piece byte arrived from any peer. */
  lastByteAt: number | null;
  /** Set once the viewer ended (kicked, session ended, stopped). */
  ended: { kind: string; reason: string; at: number } | null;
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'started'; id: number; session: string }
  | { type: 'failed'; id: number; error: string }
  | { type: 'stopped'; id: number; report: ViewerReport | null }
  | { type: 'stats'; id: number; rss: number; viewers: ViewerReport[]; loopDelayMs: LoopDelay; cpuUs: number }
  | { type: 'ended'; session: string; kind: string; reason: string; at: number }
  /** `--detail`: every viewer's trace, and the worker's event-loop delay per second as [at, p99 ms, max ms]. */
  | { type: 'detail'; id: number; traces: ViewerTraceReport[]; loop: Array<[number, number, number]> }
  | { type: 'bye'; id: number };
