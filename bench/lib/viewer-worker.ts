/**
 * A bench worker process: runs K real viewers (each with its own listening
 * socket, tracker channel and peer connections over loopback) and answers the
 * main process over IPC. Spreading viewers over processes is what lets a
 * 2-core machine carry 100 of them at 2 Mbit/s.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Viewer } from '../../src/peer/viewer.js';
import type { FromWorker, ToWorker, ViewerReport, WorkerConfig, WorkerViewerSpec } from './ipc.js';
import { ViewerTrace } from './viewer-trace.js';

interface Running {
  viewer: Viewer;
  user: string;
  lastByteAt: number | null;
  ended: ViewerReport['ended'];
}

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
const running = new Map<string, Running>();
// A blocked event loop stalls all of this process's viewers at once: worth knowing when pieces are late.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

// --detail: each viewer's trace (kept after it leaves), and this process's loop delay second by second.
const traces = new Map<string, ViewerTrace>();
const secondLoop = monitorEventLoopDelay({ resolution: 10 });
const loopBySecond: Array<[number, number, number]> = [];
if (config.detail) {
  secondLoop.enable();
  setInterval(() => {
    loopBySecond.push([Date.now(), Math.round(secondLoop.percentile(99) / 1e6), Math.round(secondLoop.max / 1e6)]);
    secondLoop.reset();
    for (const [sid, t] of traces) if (running.has(sid)) t.sample();
  }, 1_000).unref();
}

function send(msg: FromWorker): void {
  process.send?.(msg);
}

function report(r: Running): ViewerReport {
  return { ...r.viewer.stats(), user: r.user, lastByteAt: r.lastByteAt, ended: r.ended };
}

async function start(spec: WorkerViewerSpec): Promise<string> {
  const viewer = await Viewer.start({
    controlUrl: config.controlUrl,
    program: config.program,
    user: spec.user,
    ...(spec.device ? { device: spec.device } : { password: spec.password }),
    host: config.host,
    uploadRate: config.uploadRate,
  });
  const r: Running = { viewer, user: spec.user, lastByteAt: null, ended: null };
  if (config.detail) traces.set(viewer.sid, new ViewerTrace(viewer, spec.user));
  // Instrument the byte meter: the kick scenario's cut-off is the last piece byte received.
  const meter = viewer.swarm.downMeter;
  const add = meter.add.bind(meter);
  meter.add = (bytes: number, nowMs: number): void => {
    r.lastByteAt = Date.now();
    add(bytes, nowMs);
  };
  if (spec.ignoreDisconnect) viewer.tracker.removeAllListeners('disconnect');
  viewer.on('ended', (end) => {
    r.ended = { kind: end.kind, reason: end.reason, at: Date.now() };
    send({ type: 'ended', session: viewer.sid, kind: end.kind, reason: end.reason, at: r.ended.at });
  });
  running.set(viewer.sid, r);
  return viewer.sid;
}

async function stopOne(sid: string): Promise<ViewerReport | null> {
  const r = running.get(sid);
  if (!r) return null;
  const rep = report(r);
  running.delete(sid);
  await r.viewer.stop('bench: viewer leaves').catch(() => undefined);
  return rep;
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'start':
      try {
        send({ type: 'started', id: msg.id, session: await start(msg.viewer) });
      } catch (err) {
        send({ type: 'failed', id: msg.id, error: err instanceof Error ? err.message : String(err) });
      }
      return;
    case 'stop':
      send({ type: 'stopped', id: msg.id, report: await stopOne(msg.session) });
      return;
    case 'stats':
      send({
        type: 'stats',
        id: msg.id,
        rss: process.memoryUsage().rss,
        viewers: [...running.values()].map(report),
        loopDelayMs: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
        cpuUs: (({ user, system }) => user + system)(process.cpuUsage()),
      });
      return;
    case 'detail':
      send({ type: 'detail', id: msg.id, traces: [...traces.values()].map((t) => t.report()), loop: loopBySecond });
      return;
    case 'shutdown':
      await Promise.all([...running.keys()].map((sid) => stopOne(sid)));
      process.send?.({ type: 'bye', id: msg.id } satisfies FromWorker, () => process.exit(0));
      return;
  }
}

process.on('message', (msg: ToWorker) => {
  void handle(msg);
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
