/**
 * Issue 12 acceptance, the split: 2 control servers on one PostgreSQL schema,
 * 2 trackers on one Redis database, the broadcaster and 20 viewers admitted by
 * the control servers in turn and spread over the trackers by the metadata
 * (startClusterSystem, as `gatecast demo --cluster` runs it). Every viewer
 * plays (MPEG-TS bytes on its playback URL, continuity over a window), every
 * viewer receives pieces from a viewer held by the OTHER tracker (which
 * tracker holds a session is read from the control servers' session lists),
 * and `sessions` on either control server (its API and `gatecast admin
 * sessions`) lists all 21 joined.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startClusterSystem, type ClusterSystem } from '../../src/cli/cluster-system.js';
import { pieceIntervalMs } from '../../src/core/piece.js';
import type { Viewer } from '../../src/peer/viewer.js';
import { PG_TEST_URL } from '../store/pg-test-db.js';
import { runCli, waitFor } from '../e2e/helpers.js';
import { continuity, joinedOn, redisDb, type Joined } from './acceptance-helpers.js';

const VIEWERS = 20;
const PROGRAM = 'acceptance-split';
const ADMIN = randomBytes(9).toString('base64url');

let sys: ClusterSystem | null = null;
after(async () => {
  await sys?.stop();
});

test('2 control servers + 2 trackers + broadcaster + 20 viewers: all play, pieces cross trackers, either control server lists all 21', { timeout: 240_000 }, async (t) => {
  const cluster = await startClusterSystem({ db: PG_TEST_URL, redis: redisDb(13), adminPassword: ADMIN });
  sys = cluster;
  const b = await cluster.broadcast(PROGRAM, { kind: 'test-pattern', bitrateBps: 400_000 });
  const viewers: Array<{ viewer: Viewer; playUrl: string; control: string }> = [];
  for (let i = 0; i < VIEWERS; i++) viewers.push(await cluster.viewer(`v${i}`, PROGRAM));
  assert.equal(new Set(viewers.map((v) => v.control)).size, 2, 'admissions went to both control servers');

  // Either control server lists every session joined (they share the database): the source and the 20 viewers.
  const urls = cluster.controls.map((c) => c.url);
  let lists: Array<Map<string, Joined>> = [];
  await waitFor(
    'both control servers listing 21 joined sessions, the same ones on the same trackers',
    async () => {
      lists = await Promise.all(urls.map((u) => joinedOn(u, ADMIN)));
      const [l0, l1] = lists.map((l) => JSON.stringify([...l.entries()].sort(([x], [y]) => x.localeCompare(y))));
      return lists[0]?.size === VIEWERS + 1 && l0 === l1;
    },
    60_000,
  );
  // The operator's own view: `gatecast admin sessions` pointed at either control server lists the same 21.
  for (const url of urls) {
    const r = await runCli(['admin', '--control', url, 'sessions', '--json'], { env: { GATECAST_ADMIN_PASSWORD: ADMIN } });
    assert.equal(r.code, 0, r.stderr);
    const listed = (JSON.parse(r.stdout) as Array<{ id: string; state: string }>).filter((x) => x.state === 'joined').map((x) => x.id);
    assert.deepEqual(listed.sort(), [...(lists[0]?.keys() ?? [])].sort(), `gatecast admin sessions at ${url} lists all ${VIEWERS + 1}`);
  }
  const held = lists[0] ?? new Map<string, Joined>();
  for (const x of viewers) assert.equal(held.get(x.viewer.sid)?.role, 'viewer', `${x.viewer.sid} listed as a joined viewer`);
  assert.equal([...held.values()].filter((s) => s.role === 'source').length, 1, 'and the broadcaster, joined as the source');
  const trackerIds = cluster.trackers.map((x) => new URL(x.url).host);
  const onTracker = (id: string): Viewer[] => viewers.map((x) => x.viewer).filter((v) => held.get(v.sid)?.tracker === id);
  const [onA, onB] = trackerIds.map(onTracker);
  assert.ok(onA && onB);
  t.diagnostic(`viewers per tracker: ${onA.length} on ${trackerIds[0]}, ${onB.length} on ${trackerIds[1]}`);
  assert.equal(onA.length + onB.length, VIEWERS, 'every viewer is on one of the two trackers');
  assert.ok(onA.length >= VIEWERS / 4 && onB.length >= VIEWERS / 4, `split across trackers: ${onA.length} and ${onB.length}`);

  // Every viewer plays: its playback URL serves MPEG-TS, and pieces come due on time.
  const perSecond = 1000 / pieceIntervalMs(b.metadata);
  await waitFor('every viewer playing 3 s of stream', () => viewers.every((x) => x.viewer.stats().played >= 3 * perSecond), 90_000);
  for (const x of viewers) {
    const res = await fetch(x.playUrl, { signal: AbortSignal.timeout(15_000) });
    const reader = res.body?.getReader();
    const chunk = await reader?.read();
    await reader?.cancel();
    assert.ok((chunk?.value?.length ?? 0) > 0, `${x.viewer.sid}: stream bytes`);
    assert.equal(chunk?.value?.[0], 0x47, `${x.viewer.sid}: MPEG-TS sync byte`);
  }

  // Pieces cross trackers: every viewer has received bytes from a viewer the other tracker holds (the source excluded).
  const crossing = (v: Viewer): number => {
    const others = new Set((onA.includes(v) ? onB : onA).map((o) => o.sid));
    let n = 0;
    for (const [sid, bytes] of v.swarm.bytesReceivedFrom()) if (others.has(sid)) n += bytes;
    return n;
  };
  await waitFor('every viewer receiving pieces from a viewer of the other tracker', () => viewers.every((x) => crossing(x.viewer) > 0), 60_000);
  const crossed = viewers.map((x) => crossing(x.viewer));
  t.diagnostic(`bytes from viewers of the other tracker, per viewer: min ${Math.min(...crossed)}, max ${Math.max(...crossed)}`);

  // Continuity over a window once everyone plays (generous bound: a loaded 2-core machine; figures in the diagnostics).
  const windowS = 15;
  const before = viewers.map((x) => x.viewer.stats());
  await new Promise((r) => setTimeout(r, windowS * 1000));
  const worst = viewers.reduce((w, x, i) => {
    const a = before[i];
    assert.ok(a);
    const s = x.viewer.stats();
    const c = continuity(a, s);
    assert.ok(s.played - a.played >= 0.6 * windowS * perSecond, `${x.viewer.sid} played ${s.played - a.played} pieces in ${windowS} s`);
    return Math.min(w, c);
  }, 1);
  t.diagnostic(`worst continuity over ${windowS} s: ${worst.toFixed(3)}`);
  assert.ok(worst >= 0.9, `every viewer's continuity ≥ 0.9 (worst ${worst})`);
});
