/**
 * The disconnect figures of issue 3: with N viewers on one channel, kick K of
 * them one at a time through POST /v1/admin/kick and measure
 * - confirmed removal: kick command → the session is gone from the control
 *   server's list (GET /v1/admin/sessions?user=…, polled);
 * - cut-off: kick command → the last piece byte the kicked viewer receives
 *   from any peer (its byte meter, instrumented in the worker);
 * for a cooperative client, and for one that ignores the disconnect message
 * (its tracker `disconnect` listener removed).
 */
import { controlRequest } from '../../src/protocol/control-api.js';
import { isClientError } from '../../src/core/errors.js';
import { createUsers, startBenchSystem } from '../lib/bench-system.js';
import { mdTable, verdict } from '../lib/report.js';
import { percentile, round, sleep } from '../lib/stats.js';
import { cdfPanel, figure } from '../lib/svg.js';
import type { ViewerPool } from '../lib/viewer-pool.js';
import { BITRATE_BPS, CAP, startBenchPool } from './swarm.js';

/** How long after a kick bytes are still watched for: a cut-off this long means "not cut off". */
const CUTOFF_WATCH_MS = 2_000;
const REMOVAL_GIVE_UP_MS = 30_000;

interface KindFigures {
  kicks: number;
  removal_ms: { p50: number | null; p99: number | null; max: number | null };
  cutoff_ms: { p50: number | null; p99: number | null; max: number | null };
  /** The control server's own kick → completion time (disconnect duration_ms). */
  server_ms: { p50: number | null; p99: number | null };
  not_removed: number;
  ended_by_itself: number;
}

export interface KickResult {
  available: boolean;
  viewers: number;
  cooperative: KindFigures | null;
  ignoring: KindFigures | null;
  detail: Record<string, unknown>;
}

interface Sample {
  /** Kick command → the control server's ended_at for the session. */
  removalMs: number | null;
  /** Kick command → the poll that first saw the session gone. */
  observedMs: number | null;
  cutoffMs: number | null;
  serverMs: number | null;
  /** Kick command → the POST's answer. */
  postMs: number;
  /** Kick command → the viewer's `ended` event (cooperative clients). */
  endedMs: number | null;
  ended: boolean;
}

function figures(samples: Sample[]): KindFigures {
  const rem = samples.map((s) => s.removalMs).filter((v): v is number => v !== null);
  const cut = samples.map((s) => s.cutoffMs).filter((v): v is number => v !== null);
  const srv = samples.map((s) => s.serverMs).filter((v): v is number => v !== null);
  const r = (v: number): number | null => round(v, 1);
  return {
    kicks: samples.length,
    removal_ms: { p50: r(percentile(rem, 50)), p99: r(percentile(rem, 99)), max: r(Math.max(...rem)) },
    cutoff_ms: { p50: r(percentile(cut, 50)), p99: r(percentile(cut, 99)), max: r(Math.max(...cut)) },
    server_ms: { p50: r(percentile(srv, 50)), p99: r(percentile(srv, 99)) },
    not_removed: samples.length - rem.length,
    ended_by_itself: samples.filter((s) => s.ended).length,
  };
}

export async function runKick(o: { viewers: number; kicks: number; perWorker: number; log: (l: string) => void }): Promise<KickResult> {
  const bench = await startBenchSystem({ bitrateBps: BITRATE_BPS, sourceCap: CAP });
  const admin = { user: 'admin', password: bench.sys.adminPassword };
  const call = (method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> =>
    controlRequest(bench.sys.controlUrl, path, { method, body, basic: admin });
  let pool: ViewerPool | null = null;
  try {
    // Is the kick API there? An empty body must be refused as a bad request, not as an unknown route.
    try {
      await call('POST', '/v1/admin/kick', {});
    } catch (err) {
      if (isClientError(err) && err.code === 'not_found') {
        o.log('kick: POST /v1/admin/kick does not exist yet; skipped');
        return { available: false, viewers: o.viewers, cooperative: null, ignoring: null, detail: { skipped: 'no POST /v1/admin/kick' } };
      }
    }
    const kicks = Math.min(o.kicks, Math.floor(o.viewers / 2));
    const names = Array.from({ length: o.viewers }, (_, i) => `viewer${i}`);
    const users = await createUsers(bench.sys, bench.program, names);
    pool = await startBenchPool(bench, o.viewers, o.perWorker);
    // The first `kicks` viewers ignore disconnects; the next `kicks` are cooperative victims.
    const sessionOf = new Map<string, string>();
    for (const [i, u] of users.entries()) {
      sessionOf.set(u.user, await pool.startViewer({ ...u, ignoreDisconnect: i < kicks }));
    }
    o.log(`${pool.size} viewers joined; 5 s of stream before the first kick`);
    await sleep(5_000);
    const p = pool;

    const lastByteAt = async (session: string): Promise<number | null> =>
      (await p.stats()).viewers.find((v) => v.session === session)?.lastByteAt ?? null;

    const sessionGone = async (user: string, session: string): Promise<boolean> => {
      const { sessions } = (await call('GET', `/v1/admin/sessions?user=${encodeURIComponent(user)}`)) as { sessions: Array<{ id: string }> };
      return !sessions.some((s) => s.id === session);
    };

    // Each admin call pays the control server's password check, so polling is coarse: once the session is
    // gone, its ended_at (when the control server deleted it from its list) gives the exact time.
    const pollRemoval = async (user: string, session: string, t0: number, everyMs: number): Promise<{ exact: number | null; observed: number } | null> => {
      while (Date.now() - t0 < REMOVAL_GIVE_UP_MS) {
        if (await sessionGone(user, session)) {
          const observed = Date.now() - t0;
          const { sessions } = (await call('GET', `/v1/admin/sessions?all=1&user=${encodeURIComponent(user)}`)) as {
            sessions: Array<{ id: string; ended_at: string | null }>;
          };
          const endedAt = sessions.find((x) => x.id === session)?.ended_at;
          const exact = endedAt ? Date.parse(endedAt) - t0 : Number.NaN;
          return { exact: Number.isFinite(exact) ? exact : null, observed };
        }
        await sleep(everyMs);
      }
      return null;
    };

    const serverMs = async (disconnectId: string | undefined): Promise<number | null> => {
      if (!disconnectId) return null;
      const d = (await call('GET', `/v1/admin/disconnects/${encodeURIComponent(disconnectId)}`)) as { duration_ms: number | null };
      return d.duration_ms;
    };

    const kick = async (user: string, ignoring: boolean): Promise<Sample> => {
      const session = sessionOf.get(user) as string;
      const t0 = Date.now();
      const res = (await call('POST', '/v1/admin/kick', { session, reason: 'bench kick' })) as { disconnects: Array<{ id: string }> };
      const postMs = Date.now() - t0;
      const removal = pollRemoval(user, session, t0, ignoring ? 100 : 5);
      // Watch for straggling bytes, then read when the last one came.
      await sleep(ignoring ? CUTOFF_WATCH_MS : 500);
      const last = await lastByteAt(session);
      const sample: Sample = {
        removalMs: null,
        observedMs: null,
        cutoffMs: last === null ? null : Math.max(0, last - t0),
        serverMs: null,
        postMs,
        endedMs: null,
        ended: p.ended.has(session),
      };
      const end = p.ended.get(session);
      if (end) sample.endedMs = end.at - t0;
      const settle = (r: { exact: number | null; observed: number } | null): void => {
        sample.removalMs = r ? (r.exact ?? r.observed) : null;
        sample.observedMs = r?.observed ?? null;
      };
      if (ignoring) {
        // Removal of an ignoring client waits on the heartbeat timeout: collect it in the background.
        void removal.then(async (r) => {
          settle(r);
          sample.serverMs = await serverMs(res.disconnects[0]?.id).catch(() => null);
        });
      } else {
        settle(await removal);
        sample.serverMs = await serverMs(res.disconnects[0]?.id).catch(() => null);
      }
      return sample;
    };

    const coop: Sample[] = [];
    for (let i = kicks; i < 2 * kicks; i++) coop.push(await kick(`viewer${i}`, false));
    o.log(`cooperative: ${kicks} kicks done`);
    const ign: Sample[] = [];
    for (let i = 0; i < kicks; i++) ign.push(await kick(`viewer${i}`, true));
    // Wait for the background removals of the ignoring clients.
    const end = Date.now() + REMOVAL_GIVE_UP_MS;
    while (ign.some((s) => s.removalMs === null || s.serverMs === null) && Date.now() < end) await sleep(200);
    o.log(`ignoring: ${kicks} kicks done`);
    const result: KickResult = {
      available: true,
      viewers: o.viewers,
      cooperative: figures(coop),
      ignoring: figures(ign),
      detail: {
        cutoff_watch_ms: CUTOFF_WATCH_MS,
        samples: {
          cooperative: coop.map((s) => ({ removal_ms: s.removalMs, cutoff_ms: s.cutoffMs, observed_ms: s.observedMs, server_ms: s.serverMs, post_ms: s.postMs, viewer_ended_ms: s.endedMs })),
          ignoring: ign.map((s) => ({ removal_ms: s.removalMs, cutoff_ms: s.cutoffMs, observed_ms: s.observedMs, server_ms: s.serverMs, post_ms: s.postMs, viewer_ended_ms: s.endedMs })),
        },
      },
    };
    return result;
  } finally {
    await pool?.close().catch(() => undefined);
    await bench.stop();
  }
}

export function kickMarkdown(r: KickResult, cmd: string): string {
  if (!r.available || !r.cooperative || !r.ignoring) return `# kick\n\n\`${cmd}\`\n\nSkipped: ${JSON.stringify(r.detail)}\n`;
  const row = (kind: string, f: KindFigures): Array<Array<string | number | null>> => [
    [`${kind}: confirmed removal p50 (ms)`, f.removal_ms.p50, '', ''],
    [`${kind}: confirmed removal p99 (ms)`, f.removal_ms.p99, '≤ 100', verdict(f.removal_ms.p99, 100, 'max')],
    [`${kind}: cut-off p50 (ms)`, f.cutoff_ms.p50, '', ''],
    [`${kind}: cut-off p99 (ms)`, f.cutoff_ms.p99, '≤ 200', verdict(f.cutoff_ms.p99, 200, 'max')],
    [`${kind}: server kick → completion p50 / p99 (ms)`, `${f.server_ms.p50} / ${f.server_ms.p99}`, '', ''],
    [`${kind}: kicks / not removed in ${REMOVAL_GIVE_UP_MS / 1000} s`, `${f.kicks} / ${f.not_removed}`, '', ''],
  ];
  return `# kick: ${r.viewers} viewers\n\n\`${cmd}\`\n\n${mdTable(['figure', 'value', 'target', 'verdict'], [...row('cooperative', r.cooperative), ...row('ignoring', r.ignoring)])}\n\nDetail: \`${JSON.stringify(r.detail)}\`\n`;
}

export function kickSvg(r: KickResult): string {
  const s = r.detail['samples'] as { cooperative: Array<Record<string, number | null>>; ignoring: Array<Record<string, number | null>> } | undefined;
  const vals = (list: Array<Record<string, number | null>> | undefined, key: string): number[] =>
    (list ?? []).map((x) => x[key]).filter((v): v is number => typeof v === 'number');
  return figure(`gatecast kick: ${r.viewers} viewers`, [
    cdfPanel('Kick → confirmed removal (control server list)', 'ms', [
      { name: 'cooperative', values: vals(s?.cooperative, 'removal_ms') },
      { name: 'ignoring', values: vals(s?.ignoring, 'removal_ms') },
    ], { target: 100, targetLabel: 'p99 target 100 ms' }),
    cdfPanel('Kick → last piece byte received by the kicked viewer', 'ms', [
      { name: 'cooperative', values: vals(s?.cooperative, 'cutoff_ms') },
      { name: 'ignoring', values: vals(s?.ignoring, 'cutoff_ms') },
    ], { target: 200, targetLabel: 'p99 target 200 ms' }),
  ]);
}
