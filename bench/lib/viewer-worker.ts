/**
 * A bench worker process: runs K real viewers (each with its own listening
 * socket, tracker channel and peer connections over loopback) and answers the
 * main process over IPC. Spreading viewers over processes is what lets a
 * 2-core machine carry 100 of them at 2 Mbit/s.
 *
 * Besides Viewer.stats(), it keeps a deadline measure the PlaybackBuffer does
 * not: every 20 ms it asks the viewer's PlayerClock which piece the player is
 * consuming and checks that each piece it passed had arrived by then.
 */
import { Viewer } from '../../src/peer/viewer.js';
import type { FromWorker, ToWorker, ViewerReport, WorkerConfig, WorkerViewerSpec } from './ipc.js';

interface Running {
  viewer: Viewer;
  user: string;
  arrivals: Map<number, number>;
  lastPlayhead: number | null;
  onTime: number;
  late: number;
  lastByteAt: number | null;
  ended: ViewerReport['ended'];
}

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
const running = new Map<string, Running>();
const DEADLINE_TICK_MS = 20;

function send(msg: FromWorker): void {
  process.send?.(msg);
}

function report(r: Running): ViewerReport {
  const s = r.viewer.stats();
  return {
    session: s.session,
    user: r.user,
    startedAt: s.startedAt,
    firstByteAt: s.firstByteAt,
    played: s.played,
    missed: s.missed,
    continuity: s.continuity,
    deadlineOnTime: r.onTime,
    deadlineLate: r.late,
    bytesFromSource: s.bytesFromSource,
    bytesFromPeers: s.bytesFromPeers,
    uploaded: s.uploaded,
    peers: s.peers,
    latencyMs: s.latencyMs,
    lastByteAt: r.lastByteAt,
    ended: r.ended,
  };
}

async function start(spec: WorkerViewerSpec): Promise<string> {
  const viewer = await Viewer.start({
    controlUrl: config.controlUrl,
    program: config.program,
    user: spec.user,
    password: spec.password,
    host: config.host,
    uploadRate: config.uploadRate,
  });
  const r: Running = { viewer, user: spec.user, arrivals: new Map(), lastPlayhead: null, onTime: 0, late: 0, lastByteAt: null, ended: null };
  // Instrument the byte meter: the kick scenario's cut-off is the last piece byte received.
  const meter = viewer.swarm.downMeter;
  const add = meter.add.bind(meter);
  meter.add = (bytes: number, nowMs: number): void => {
    r.lastByteAt = Date.now();
    add(bytes, nowMs);
  };
  viewer.swarm.on('piece', (piece) => {
    if (!r.arrivals.has(piece.seq)) r.arrivals.set(piece.seq, Date.now());
  });
  if (spec.ignoreDisconnect) viewer.tracker.removeAllListeners('disconnect');
  viewer.on('ended', (end) => {
    r.ended = { kind: end.kind, reason: end.reason, at: Date.now() };
    send({ type: 'ended', session: viewer.sid, kind: end.kind, reason: end.reason, at: r.ended.at });
  });
  running.set(viewer.sid, r);
  return viewer.sid;
}

function checkDeadlines(): void {
  const now = Date.now();
  for (const r of running.values()) {
    if (r.ended) continue;
    const ph = r.viewer.playerClock.playhead(now);
    if (ph === null) continue;
    if (r.lastPlayhead === null) r.lastPlayhead = ph - 1;
    for (let s = r.lastPlayhead + 1; s <= ph; s++) {
      if (r.arrivals.has(s)) r.onTime++;
      else r.late++;
    }
    if (ph > r.lastPlayhead) r.lastPlayhead = ph;
    for (const s of r.arrivals.keys()) if (s <= r.lastPlayhead) r.arrivals.delete(s);
  }
}

const deadlineTimer = setInterval(checkDeadlines, DEADLINE_TICK_MS);

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
      send({ type: 'stats', id: msg.id, rss: process.memoryUsage().rss, viewers: [...running.values()].map(report) });
      return;
    case 'shutdown':
      clearInterval(deadlineTimer);
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
