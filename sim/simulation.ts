/**
 * One simulated run: a source making the stream, a tracker, viewers joining
 * and leaving as the scenario plans, all on one virtual clock over one
 * modelled network; the figures are taken over the measured window as the
 * bench takes them. Deterministic for a seed: every draw is from the seeded
 * generator, time is the event clock's, and every collection is iterated in
 * insertion order.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { DEFAULTS } from '../src/core/config.js';
import type { LivePiece } from '../src/core/piece.js';
import { ProtocolError } from '../src/core/errors.js';
import { Swarm } from '../src/peer/swarm.js';
import { MemoryNetwork } from '../src/peer/memory-transport.js';
import type { PieceCheck } from '../src/peer/piece-check.js';
import type { ViewerReport } from '../bench/lib/ipc.js';
import type { SimArgs } from './args.js';
import { EventClock } from './event-clock.js';
import { LinkModel, PROFILES, type LinkProfile } from './links.js';
import { simResult, type SimResult } from './report.js';
import { Rng } from './rng.js';
import { makePlan } from './scenario.js';
import { SimStream } from './stream.js';
import { SimViewer } from './sim-viewer.js';
import { TrackerModel } from './tracker-model.js';

/** The source runs this long before the first viewer joins (the bench starts its broadcaster first). */
const WARMUP_MS = 3_000;
/** The source's access latency: a server, close to the backbone. */
const SOURCE_ACCESS_MS = 1;
/**
 * A client's upload cap (its token bucket) is this share of its line's rate.
 * The bucket counts piece blocks only; set to the full line rate, the haves,
 * requests and windows on top would queue on the line without bound (there
 * is no TCP congestion control in the model to push back), so, as an
 * operator is told to, the cap leaves the line some headroom.
 */
const CAP_SHARE_OF_LINE = 0.9;
/** Promise continuations (the engine's few async steps: listen, close) run at least this often, in virtual ms. */
const TURN_MS = 1;

export interface Progress {
  virtualS: number;
  wallS: number;
  events: number;
  viewers: number;
  playing: number;
  rssMb: number;
}

function cpuSeconds(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1e6;
}

export async function simulate(args: SimArgs, onProgress?: (p: Progress) => void): Promise<SimResult> {
  const wallStart = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const rng = new Rng(args.seed);
  const clock = new EventClock();
  const base = PROFILES[args.links];
  if (!base) throw new Error(`unknown link profile ${args.links}`);
  const profile: LinkProfile = {
    ...base,
    ...(args.accessMs === null ? {} : { accessMs: args.accessMs }),
    ...(args.upX === 'profile' ? {} : { viewerUpX: args.upX }),
    ...(args.loss === null ? {} : { loss: args.loss }),
    ...(args.turnMs === null ? {} : { turnMs: args.turnMs }),
  };
  const links = new LinkModel(clock, rng.fork(1), profile);
  const tracker = new TrackerModel(rng.fork(2));
  const plan = makePlan(
    {
      scenario: args.scenario,
      viewers: args.viewers,
      durationS: args.durationS,
      ...(args.joinS === null ? {} : { joinS: args.joinS }),
      ...(args.spreadS === null ? {} : { spreadS: args.spreadS }),
      churnShare: args.churnShare,
      churnEveryS: args.churnEveryS,
    },
    rng.fork(3),
  );
  const drawRng = rng.fork(4);
  // The choker's tie-breaks, for every viewer: seeded, as everything here is.
  const chokeRng = rng.fork(5);
  const random = (): number => chokeRng.next();
  const stream = new SimStream({ clock });
  const bitrate = stream.bitrateBps;
  const net = new MemoryNetwork({ clock, deliver: links.deliver });
  const checkPiece: PieceCheck = (seq) => {
    const piece = stream.get(seq);
    if (!piece) throw new ProtocolError(`piece ${seq}: never made`);
    return piece;
  };
  const windowCapacity = Math.ceil((DEFAULTS.windowS * 1000) / stream.intervalMs);
  const t0 = clock.now();

  // The source: the real swarm in its source role, fed by the stream.
  const sourceCap = args.sourceCapX === null ? null : (args.sourceCapX * bitrate) / 8;
  // The source's line is a little faster than its configured cap, as every client's is (CAP_SHARE_OF_LINE).
  links.addNode('source', { accessMs: SOURCE_ACCESS_MS, upBytesPerS: profile.viewerUpX === null || sourceCap === null ? null : sourceCap / CAP_SHARE_OF_LINE });
  const sourceTransport = net.transport({ sid: 'source', user: 'broadcaster', role: 'source' }, { ip: '10.255.255.254', port: 6881 });
  const source = new Swarm({
    sid: 'source',
    role: 'source',
    clock,
    transport: sourceTransport,
    checkPiece,
    pieceLength: stream.pieceLength,
    pieceIntervalMs: () => stream.intervalMs,
    windowCapacity,
    maxPeers: DEFAULTS.peer.sourceMaxPeers,
    uploadSlots: DEFAULTS.peer.sourceUploadSlots,
    uploadRate: sourceCap,
    sourceTier: args.peer.sourceTier ?? DEFAULTS.peer.sourceTier,
    peer: args.peer,
  });
  await source.start();
  tracker.join(sourceTransport.listed);
  stream.start((piece: LivePiece) => source.addLocalPiece(piece));

  const viewers = new Map<number, SimViewer>();
  const departed: SimViewer[] = [];
  const startViewer = (i: number): void => {
    const sid = `v${i}`;
    const link = links.drawViewer(bitrate);
    links.addNode(sid, link);
    // Two round trips to a server near the source: to the control server, then to the tracker.
    const rtt = 2 * (link.accessMs + SOURCE_ACCESS_MS);
    const v = new SimViewer(i, {
      clock,
      net,
      tracker,
      checkPiece,
      pieceLength: stream.pieceLength,
      nominalIntervalMs: stream.intervalMs,
      windowCapacity,
      // The client is set a little below its line's upload rate where the line is modelled, else to the bench's cap.
      uploadRate: link.upBytesPerS === null ? (args.viewerCapX * bitrate) / 8 : link.upBytesPerS * CAP_SHARE_OF_LINE,
      admissionMs: profile.admissionMs * drawRng.between(0.5, 1.5) + rtt,
      trackerRttMs: profile.trackerMs + rtt,
      peer: args.peer,
      playback: args.playback,
      random,
    });
    viewers.set(i, v);
    v.start();
  };
  const stopViewer = (i: number): void => {
    const v = viewers.get(i);
    if (!v) return;
    v.leave('churn');
    viewers.delete(i);
    departed.push(v);
  };
  for (const e of plan.events) {
    clock.setTimeout(() => (e.kind === 'join' ? startViewer(e.viewer) : stopViewer(e.viewer)), WARMUP_MS + e.atMs);
  }

  // The measured window, as the bench takes it: reports at its start, and at its end.
  const atWindowStart = new Map<string, ViewerReport>();
  let srcUp0 = 0;
  let departedBefore = 0;
  clock.setTimeout(() => {
    for (const v of viewers.values()) atWindowStart.set(v.sid, v.report());
    srcUp0 = source.uploaded;
    departedBefore = departed.length;
  }, WARMUP_MS + plan.windowStartMs);

  const end = t0 + WARMUP_MS + plan.windowEndMs;
  let nextProgress = t0 + args.progressS * 1000;
  const progress = (): Progress => ({
    virtualS: Math.round((clock.now() - t0) / 100) / 10,
    wallS: Math.round(Number(process.hrtime.bigint() - wallStart) / 1e8) / 10,
    events: clock.events,
    viewers: viewers.size,
    playing: [...viewers.values()].filter((v) => v.playing).length,
    rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
  });
  while (clock.now() < end) {
    clock.runUntil(Math.min(end, clock.now() + TURN_MS));
    // Lets promise continuations run (listen and close resolve this way), in order, before time moves on.
    await nextTurn();
    if (onProgress && args.progressS > 0 && clock.now() >= nextProgress) {
      nextProgress += args.progressS * 1000;
      onProgress(progress());
    }
  }
  stream.stop();

  const final = [...viewers.values()].map((v) => v.report());
  const srcUp1 = source.uploaded;
  const wallS = Number(process.hrtime.bigint() - wallStart) / 1e9;
  const result = simResult(
    {
      scenario: args.scenario,
      bitrateBps: bitrate,
      final,
      departed: departed.slice(departedBefore).map((v) => v.report()),
      atWindowStart,
      sourceUploadedInWindow: srcUp1 - srcUp0,
      sourceUploadedTotal: srcUp1,
      windowS: (plan.windowEndMs - plan.windowStartMs) / 1000,
      detail: {
        source_pieces: stream.count,
        source_peers: source.peerCount,
        link_messages: links.messages,
        link_bytes: links.bytes,
        link_retransmitted: links.retransmitted,
        tracker_announces: tracker.announces,
        viewers_joined: plan.total,
        peer_settings: args.peer,
        playback_timings: args.playback,
      },
    },
    {
      wall_s: Math.round(wallS * 10) / 10,
      cpu_s: Math.round(cpuSeconds(process.cpuUsage(cpuStart)) * 10) / 10,
      virtual_s: Math.round((clock.now() - t0) / 100) / 10,
      events: clock.events,
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    },
    args.seed,
    profile,
    args.perViewer,
  );
  // Nothing is torn down: the run is over, and 10,000 goodbyes would cost more than the process exit.
  return result;
}
