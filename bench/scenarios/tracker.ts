/**
 * Announce throughput, side by side: gatecast's tracker, Debian's opentracker
 * and the npm bittorrent-tracker server, one after the other in one run, with
 * the same load generator (wrk), the same request mix (announce-mix.ts) and a
 * new TCP connection per request. Then the WebSocket announce rate of ours,
 * and the tracker's memory per peer at 100k peers.
 *
 * Missing comparison programs are installed when they can be
 * (prerequisites.ts); a row whose program is still missing is skipped and
 * says why in `detail.skipped` and the Markdown, rather than ending the run.
 */
import { fork } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { get } from 'node:http';
import { fileURLToPath } from 'node:url';
import { startLocalSystem } from '../../src/cli/local-system.js';
import { rawPublicKey } from '../../src/core/piece.js';
import { requestProgram } from '../../src/protocol/control-api.js';
import { pctHex, type MixEntry } from '../lib/announce-mix.js';
import { startOpentracker } from '../lib/opentracker.js';
import { ensureBittorrentTracker, ensureDebianTool, type InstallPolicy } from '../lib/prerequisites.js';
import { mdTable, verdict } from '../lib/report.js';
import { round } from '../lib/stats.js';
import { barPanel, figure } from '../lib/svg.js';
import { runWrk, type LoadResult } from '../lib/wrk.js';

const PROGRAMS = 4;
const USERS = 25;
const WRK = { threads: 2, connections: 50 };
const WS_CHANNELS = 50;

export interface TrackerResult {
  ours_rps: number | null;
  opentracker_rps: number | null;
  bittorrent_tracker_rps: number | null;
  ours_ws_announces_per_s: number | null;
  memory_bytes_per_peer: number | null;
  detail: Record<string, unknown>;
}

function lib(name: string): string {
  return fileURLToPath(new URL(`../lib/${name}`, import.meta.url));
}

/** One announce of the mix with Node's http, to check a tracker accepts it before loading it. */
function probe(announceUrl: string, e: MixEntry): Promise<string> {
  const peerId = Buffer.from('-BENCH-0000000000000').toString('hex');
  const url = `${announceUrl}?info_hash=${pctHex(e.infoHash)}&peer_id=${pctHex(peerId)}&port=6881&uploaded=0&downloaded=0&left=0&compact=1&numwant=30&token=${e.token}`;
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('latin1').on('data', (s: string) => (body += s));
      res.on('end', () => (body.includes('failure reason') ? reject(new Error(`${announceUrl} refused the mix: ${body}`)) : resolve(body)));
    }).once('error', reject);
  });
}

function child<T>(script: string, args: string[], execArgv: string[] = ['--import', 'tsx']): Promise<T> {
  return new Promise((resolve, reject) => {
    const c = fork(lib(script), args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    c.once('message', (m) => resolve(m as T));
    c.once('error', reject);
    c.once('exit', (code) => reject(new Error(`${script} exited with ${String(code)} before answering`)));
  });
}

export async function runTracker(o: { durationS: number; install: boolean; log: (l: string) => void }): Promise<TrackerResult> {
  const policy: InstallPolicy = { install: o.install, log: o.log };
  const wrk = ensureDebianTool('wrk', 'wrk', ['--version'], policy);
  const opentracker = ensureDebianTool('opentracker', 'opentracker', ['-h'], policy);
  const btTracker = ensureBittorrentTracker(policy);
  const detail: Record<string, unknown> = {
    load: { tool: 'wrk', ...WRK, duration_s: o.durationS, new_connection_per_request: true },
    prerequisites: { wrk: wrk.note, opentracker: opentracker.note, bittorrent_tracker: btTracker.note },
  };
  // Rows not measured, and why: without wrk no HTTP row is (the WebSocket rate and memory still are).
  const skipped: Record<string, string> = {};
  const skip = (row: string, why: string): void => {
    skipped[row] = why;
    o.log(`skipped ${row}: ${why}`);
  };
  detail['skipped'] = skipped;
  const runs: Record<string, LoadResult> = {};

  // Ours: a control server and tracker, programs, and one session token per user and program.
  const sys = await startLocalSystem({ adminPassword: 'bench-admin', tokenTtlS: 3_600 });
  let entries: MixEntry[] = [];
  let wsUrl = '';
  let announceUrl = '';
  try {
    for (let p = 0; p < PROGRAMS; p++) await sys.addProgram({ id: `prog${p}`, title: `program ${p}` });
    for (let u = 0; u < USERS; u++) {
      await sys.admin.addUser(`t${u}`, `pw-t${u}`);
      for (let p = 0; p < PROGRAMS; p++) await sys.admin.grant(`t${u}`, `prog${p}`, null);
    }
    const admissions = [];
    // Each session's client key (PKCS#8, base64url): channel announces prove it.
    const keys: string[] = [];
    for (let u = 0; u < USERS; u++) {
      for (let p = 0; p < PROGRAMS; p++) {
        const pair = generateKeyPairSync('ed25519');
        keys.push(pair.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64url'));
        const clientKey = rawPublicKey(pair.publicKey);
        admissions.push(await requestProgram(sys.controlUrl, { program: `prog${p}`, user: `t${u}`, password: `pw-t${u}`, clientKey }));
      }
    }
    entries = admissions.map((a) => ({ infoHash: a.metadata.info_hash, token: a.token }));
    const sids = admissions.map((a) => a.session);
    // The metadata's announce URL carries that session's token; the mix adds each request's own.
    announceUrl = (admissions[0]?.metadata.tracker.announce ?? '').split('?')[0] ?? '';
    wsUrl = admissions[0]?.metadata.tracker.ws ?? '';
    detail['mix'] = { info_hashes: PROGRAMS, sessions: entries.length, token_chars: entries[0]?.token.length ?? 0 };
    for (const e of entries) await probe(announceUrl, e);
    o.log(`ours: ${announceUrl}, ${entries.length} sessions over ${PROGRAMS} info hashes`);
    if (wrk.ready) {
      runs['ours'] = await runWrk({ url: announceUrl, entries, durationS: o.durationS, ...WRK });
      o.log(`ours: ${runs['ours'].rps} announces/s`);
    } else {
      skip('ours', wrk.note);
    }

    const ws = await child<{ ok: number; errors: number; firstError: string | null; seconds: number }>('ws-load.ts', [
      JSON.stringify({
        wsUrl,
        entries: entries.slice(0, WS_CHANNELS).map((e, i) => ({ ...e, sid: sids[i] ?? '', key: keys[i] ?? '' })),
        durationS: o.durationS,
      }),
    ]);
    detail['ws'] = { channels: Math.min(WS_CHANNELS, entries.length), ...ws };
    o.log(`ours over WebSocket: ${Math.round(ws.ok / ws.seconds)} announces/s (${ws.errors} errors)`);
  } finally {
    await sys.stop();
  }
  const hashes = [...new Set(entries.map((e) => e.infoHash))];

  // bittorrent-tracker, then Node's own ceilings (a do-nothing node:http server, the same in one process per core,
  // and a raw socket server), each in its own process.
  const servers: Array<[string, string, string[]]> = [
    ['bittorrent_tracker', 'bt-tracker-server.ts', [JSON.stringify(hashes)]],
    ['node_http_floor', 'bare-server.ts', ['http']],
    ['node_cluster_floor', 'bare-server.ts', ['cluster']],
    ['node_net_floor', 'bare-server.ts', ['net']],
  ];
  for (const [name, script, args] of servers) {
    if (!wrk.ready) {
      skip(name, wrk.note);
      continue;
    }
    if (name === 'bittorrent_tracker' && !btTracker.ready) {
      skip(name, btTracker.note);
      continue;
    }
    const c = fork(lib(script), args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    try {
      const { port } = await new Promise<{ port: number }>((resolve, reject) => {
        c.once('message', (m) => resolve(m as { port: number }));
        c.once('exit', (code) => reject(new Error(`${script} exited with ${String(code)}`)));
      });
      const url = `http://127.0.0.1:${port}/announce`;
      await probe(url, entries[0] as MixEntry);
      const run = await runWrk({ url, entries, durationS: o.durationS, ...WRK });
      runs[name] = run;
      o.log(`${name}: ${run.rps} announces/s`);
    } catch (err) {
      // A comparison server that will not start or answer costs its row, not the run.
      skip(name, `failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      c.kill('SIGTERM');
    }
  }

  // opentracker.
  if (!wrk.ready) {
    skip('opentracker', wrk.note);
  } else if (!opentracker.ready) {
    skip('opentracker', opentracker.note);
  } else {
    try {
      const ot = await startOpentracker(hashes);
      try {
        await probe(ot.announceUrl, entries[0] as MixEntry);
        runs['opentracker'] = await runWrk({ url: ot.announceUrl, entries, durationS: o.durationS, ...WRK });
        o.log(`opentracker: ${runs['opentracker'].rps} announces/s`);
      } finally {
        await ot.stop();
      }
    } catch (err) {
      skip('opentracker', `failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  const mem = await child<{ peers: number; store_bytes_per_peer: number; tracker_bytes_per_peer: number }>(
    'tracker-memory.ts',
    ['100000'],
    ['--expose-gc', '--import', 'tsx'],
  );
  o.log(`memory at ${mem.peers} peers: store ${mem.store_bytes_per_peer} B/peer, store + session registry ${mem.tracker_bytes_per_peer} B/peer`);
  detail['memory'] = mem;
  detail['runs'] = runs;
  const ws = detail['ws'] as { ok: number; seconds: number } | undefined;
  const ours = runs['ours']?.rps ?? null;
  const ot = runs['opentracker']?.rps ?? null;
  detail['ours_over_opentracker'] = ours !== null && ot ? round(ours / ot, 3) : null;
  return {
    ours_rps: ours,
    opentracker_rps: ot,
    bittorrent_tracker_rps: runs['bittorrent_tracker']?.rps ?? null,
    ours_ws_announces_per_s: ws ? Math.round(ws.ok / ws.seconds) : null,
    memory_bytes_per_peer: mem.store_bytes_per_peer,
    detail,
  };
}

export function trackerMarkdown(r: TrackerResult, cmd: string): string {
  const ratio = (r.detail['ours_over_opentracker'] as number | null) ?? null;
  const mem = r.detail['memory'] as { tracker_bytes_per_peer: number } | undefined;
  const rows: Array<Array<string | number | null>> = [
    ['ours_rps (HTTP, new connection each)', r.ours_rps, '', ''],
    ['opentracker_rps', r.opentracker_rps, '', ''],
    ['bittorrent_tracker_rps', r.bittorrent_tracker_rps, '', ''],
    ['(ceiling) do-nothing node:http server', (r.detail['runs'] as Record<string, LoadResult> | undefined)?.['node_http_floor']?.rps ?? null, '', ''],
    ['(ceiling) do-nothing node:http, one process per core', (r.detail['runs'] as Record<string, LoadResult> | undefined)?.['node_cluster_floor']?.rps ?? null, '', ''],
    ['(ceiling) do-nothing raw node:net server', (r.detail['runs'] as Record<string, LoadResult> | undefined)?.['node_net_floor']?.rps ?? null, '', ''],
    ['ours ÷ opentracker', ratio, '≥ 1.0', verdict(ratio, 1.0, 'min')],
    ['ours WebSocket announces/s', r.ours_ws_announces_per_s, '', ''],
    ['memory per peer, swarm store (100k peers)', r.memory_bytes_per_peer, '≤ 200 B', verdict(r.memory_bytes_per_peer, 200, 'max')],
    ['memory per peer, store + session registry', mem?.tracker_bytes_per_peer ?? null, '', ''],
  ];
  const skipped = Object.entries((r.detail['skipped'] as Record<string, string> | undefined) ?? {});
  const notes = skipped.length === 0 ? '' : `\n\nNot measured:\n\n${skipped.map(([row, why]) => `- ${row}: ${why}`).join('\n')}`;
  return `# tracker\n\n\`${cmd}\`\n\n${mdTable(['figure', 'value', 'target', 'verdict'], rows)}${notes}\n\nDetail: \`${JSON.stringify(r.detail)}\`\n`;
}

export function trackerSvg(r: TrackerResult): string {
  return figure('Tracker announces per second (HTTP, one new connection per request, wrk)', [
    barPanel('HTTP announces/s', 'announces/s', [
      { label: 'gatecast', value: r.ours_rps ?? Number.NaN },
      { label: 'opentracker', value: r.opentracker_rps ?? Number.NaN },
      { label: 'bittorrent-tracker', value: r.bittorrent_tracker_rps ?? Number.NaN },
      { label: 'gatecast WS', value: r.ours_ws_announces_per_s ?? Number.NaN },
    ]),
  ]);
}
