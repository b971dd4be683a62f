/**
 * Issue 12 acceptance, the engines: Redis, then PostgreSQL, stopped for 10 s
 * and started again under a running cluster (2 control servers, 2 trackers,
 * the broadcaster, viewers on both trackers). The servers reach each engine
 * through a TCP relay this test cuts (every connection reset, new ones
 * refused) and restores. During a cut the servers report degraded health and
 * refuse what they cannot do with a clear error, in bounded time; viewers
 * keep playing; afterwards everything recovers by itself (health ok, a new
 * admission plays, a kick completes) and no acknowledged write is lost (a
 * user added just before the cut, kicks acked before or during it complete).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { requestProgram, type AdminClient } from '../../src/cli/control-client.js';
import { startClusterSystem, type ClusterSystem } from '../../src/cli/cluster-system.js';
import { pieceIntervalMs, rawPublicKey } from '../../src/core/piece.js';
import type { Viewer } from '../../src/peer/viewer.js';
import type { ViewerStats } from '../../src/peer/viewer-types.js';
import { PG_TEST_URL } from '../store/pg-test-db.js';
import { relayTo } from '../store/redis-test-db.js';
import { waitFor, within } from '../e2e/helpers.js';
import { continuity, healthOf, redisDb } from './acceptance-helpers.js';

const PROGRAM = 'acceptance-engines';
const ADMIN = randomBytes(9).toString('base64url');
const CUT_MS = 10_000;
const REDIS = redisDb(14);

type Relay = Awaited<ReturnType<typeof relayTo>>;
let sys: ClusterSystem;
let pgRelay: Relay;
let redisRelay: Relay;
let admin: AdminClient;
let perSecond = 0;
let infoHash = '';
const viewers: Viewer[] = [];
const cleanups: Array<() => Promise<void>> = [];

before(async () => {
  const pgTarget = new URL(PG_TEST_URL);
  const redisTarget = new URL(REDIS);
  pgRelay = await relayTo(Number(pgTarget.port || 5432), pgTarget.hostname);
  cleanups.push(() => pgRelay.close());
  redisRelay = await relayTo(Number(redisTarget.port || 6379), redisTarget.hostname);
  cleanups.push(() => redisRelay.close());
  sys = await startClusterSystem({
    db: PG_TEST_URL,
    redis: REDIS,
    adminPassword: ADMIN,
    serversVia: { db: `127.0.0.1:${pgRelay.port}`, redis: `127.0.0.1:${redisRelay.port}` },
  });
  // Stopped before the relays close: the clean-up goes direct, the servers' last writes through the restored relays.
  cleanups.push(() => sys.stop());
  admin = sys.admin;
  const b = await sys.broadcast(PROGRAM, { kind: 'test-pattern', bitrateBps: 400_000 });
  perSecond = 1000 / pieceIntervalMs(b.metadata);
  infoHash = b.metadata.info_hash;
  for (let i = 0; i < 8; i++) viewers.push((await sys.viewer(`v${i}`, PROGRAM)).viewer);
  await waitFor('every viewer playing 3 s of stream', () => viewers.every((v) => v.stats().played >= 3 * perSecond), 90_000);
});

after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

const trackerHealth = (i: number): Promise<{ status: string; codes: string[] }> => healthOf(`${sys.trackers[i]?.url ?? ''}/health`);
const controlHealth = (i: number): Promise<{ status: string; codes: string[] }> => healthOf(`${sys.controls[i]?.url ?? ''}/v1/health`);

function snapshot(of: Viewer[]): Map<Viewer, ViewerStats> {
  return new Map(of.map((v) => [v, v.stats()]));
}

/** Every viewer of `from` still playing: continuity since the snapshot, and pieces played. */
function assertPlayedOn(t: { diagnostic(s: string): void }, from: Map<Viewer, ViewerStats>, seconds: number, label: string): void {
  for (const [v, a] of from) {
    const s = v.stats();
    const c = continuity(a, s);
    t.diagnostic(`${label}: ${v.sid} continuity ${c.toFixed(3)}, ${s.played - a.played} pieces played in ${seconds.toFixed(0)} s`);
    assert.ok(c >= 0.9, `${v.sid} continuity ${c} over ${label}`);
    assert.ok(s.played - a.played >= 0.6 * seconds * perSecond, `${v.sid} played ${s.played - a.played} pieces in ${seconds} s`);
  }
}

/** `p` must fail within `ms` (a refusal, not a hang); resolves with its error's name and message. */
async function refusedWithin(what: string, p: Promise<unknown>, ms: number): Promise<string> {
  const outcome = await within(
    what,
    p.then(
      () => null,
      (err: unknown) => err,
    ),
    ms,
  );
  assert.ok(outcome instanceof Error, `${what}: refused, not done`);
  return `${outcome.name}: ${outcome.message}`;
}

async function admitDirect(control: string, user: string): Promise<unknown> {
  const { publicKey } = generateKeyPairSync('ed25519');
  return requestProgram(control, { program: PROGRAM, user, password: `pw-${user}`, clientKey: rawPublicKey(publicKey) });
}

test('Redis stopped for 10 s: trackers degraded, an admission waits and joins once Redis is back, viewers keep playing, kicks made around the cut end their viewers, reach both trackers and complete, all recovers by itself', { timeout: 180_000 }, async (t) => {
  const kickedBefore = viewers[0] as Viewer;
  const kickedDuring = viewers[1] as Viewer;
  const watching = viewers.slice(3);
  const endedAt = new Map<Viewer, number>();
  for (const v of [kickedBefore, kickedDuring]) v.once('ended', () => endedAt.set(v, performance.now()));
  const endedBefore = once(kickedBefore, 'ended');
  const endedDuring = once(kickedDuring, 'ended');
  const start = snapshot(watching);
  const t0 = performance.now();
  let joining: Promise<unknown> = Promise.resolve();
  const [dBefore] = await admin.kick({ session: kickedBefore.sid }, 'kicked just before the Redis cut');
  assert.ok(dBefore, 'the kick is acked');
  redisRelay.cut();
  const cutAt = performance.now();
  try {
    await waitFor('both trackers reporting the shared store unreachable', async () => {
      const hs = await Promise.all([0, 1].map(trackerHealth));
      return hs.every((h) => h.status === 'degraded' && h.codes.includes('shared_store_unreachable'));
    }, CUT_MS);
    t.diagnostic(`trackers degraded ${Math.round(performance.now() - cutAt)} ms after the cut`);
    const [dDuring] = await admin.kick({ session: kickedDuring.sid }, 'kicked during the Redis cut');
    assert.ok(dDuring, 'a kick during the Redis cut is acked (the control servers do not need Redis)');
    // An admission while Redis is away: the control server admits; the trackers answer `unavailable` (not a refusal), so the
    // newcomer retries its join every trackerRetryMs and gets in once Redis is back (joinRetryMs, 20 s), without failing meanwhile.
    joining = sys.viewer('during-redis', PROGRAM);
    joining.catch(() => undefined);
    let settled = false;
    void joining.then(
      () => (settled = true),
      () => (settled = true),
    );
    // The control servers need no Redis.
    assert.deepEqual(await Promise.all([0, 1].map(controlHealth)), [0, 1].map(() => ({ status: 'ok', codes: [] })), 'control servers healthy while Redis is away');
    // Enforcement needs no Redis: both kicked viewers end while it is still away.
    await waitFor('both kicked viewers ended during the cut', () => endedAt.size === 2, Math.max(1, CUT_MS - (performance.now() - cutAt)));
    t.diagnostic(`kicked viewers ended ${[...endedAt.values()].map((at) => Math.round(at - cutAt)).join(' and ')} ms after the cut`);
    await new Promise((r) => setTimeout(r, Math.max(0, CUT_MS - (performance.now() - cutAt))));
    assert.equal(settled, false, 'the admission made during the cut neither failed nor joined while Redis was away');
  } finally {
    redisRelay.restore();
  }
  const restoredAt = performance.now();
  await waitFor('both trackers healthy again', async () => (await Promise.all([0, 1].map(trackerHealth))).every((h) => h.status === 'ok'), 30_000);
  t.diagnostic(`trackers ok ${Math.round(performance.now() - restoredAt)} ms after the restore`);
  const [endB] = (await within('the viewer kicked before the cut to end', endedBefore, 20_000)) as [{ kind: string; reason: string }];
  assert.deepEqual(endB, { kind: 'kicked', reason: 'kicked just before the Redis cut' });
  const [endD] = (await within('the viewer kicked during the cut to end', endedDuring, 20_000)) as [{ kind: string; reason: string }];
  assert.deepEqual(endD, { kind: 'kicked', reason: 'kicked during the Redis cut' });
  const late = await within('the admission made during the cut to join once Redis is back', joining as Promise<{ viewer: Viewer }>, 30_000);
  t.diagnostic(`admission made during the Redis cut joined ${Math.round(performance.now() - restoredAt)} ms after the restore`);
  // The tracker reports the join to the control server just after it answered the viewer.
  await waitFor('its one session recorded joined, nothing orphaned', async () => {
    const late = (await admin.listSessions({ all: true })).filter((x) => x.user === 'during-redis');
    return late.length === 1 && late[0]?.state === 'joined';
  }, 10_000);
  await waitFor('the late viewer playing', () => late.viewer.stats().played > 0, 20_000);
  // The revocations made around the cut reached the shared store: both trackers refuse both sessions.
  await waitFor('both trackers refusing both kicked sessions', () => sys.trackers.every((x) => x.tracker.isRevoked(kickedBefore.sid) && x.tracker.isRevoked(kickedDuring.sid)), 20_000);
  const listed = new Set((await sys.trackers[0]?.tracker.peers(infoHash))?.map((p) => p.sid));
  t.diagnostic(`kicked sessions still in the shared swarm after the Redis cut: ${[kickedBefore, kickedDuring].filter((v) => listed.has(v.sid)).length} of 2`);
  // Both kicks complete (steps A–E): the leaves are reported though the swarm store could not be written (30195c1).
  for (const v of [kickedBefore, kickedDuring]) {
    await waitFor(`the kick of ${v.sid} made around the Redis cut to complete`, async () => (await admin.listDisconnects({ session: v.sid }))[0]?.state === 'completed', 20_000);
    const [d] = await admin.listDisconnects({ session: v.sid });
    t.diagnostic(`kick of ${v.sid} around the Redis cut: ${(d?.timeline ?? []).map((e) => `${e.event} +${e.ms} ms`).join(', ')}`);
  }
  const fresh = await within('an admission after the Redis cut', sys.viewer('after-redis', PROGRAM), 30_000);
  await waitFor('the new viewer playing', () => fresh.viewer.stats().played >= 2 * perSecond, 30_000);
  await kickCompletes(viewers[2] as Viewer, 'kicked after the Redis cut');
  assertPlayedOn(t, start, (performance.now() - t0) / 1000, 'the Redis cut');
});

/** A kick of `v` ends it as kicked and its disconnect completes (steps A–E), within 20 s. */
async function kickCompletes(v: Viewer, reason: string): Promise<void> {
  const ended = once(v, 'ended');
  const [d] = await admin.kick({ session: v.sid }, reason);
  assert.ok(d, 'the kick is acked');
  const [end] = (await within(`${v.sid} to be kicked`, ended, 20_000)) as [{ kind: string; reason: string }];
  assert.deepEqual(end, { kind: 'kicked', reason });
  await waitFor(`the kick of ${v.sid} to complete`, async () => (await admin.getDisconnect(d.id)).state === 'completed', 20_000);
}

test('PostgreSQL stopped for 10 s: control servers degraded, admissions and kicks refused in bounded time, viewers keep playing, a user and a kick acked before the cut survive (the kick completes), all recovers by itself', { timeout: 180_000 }, async (t) => {
  const kickedBefore = viewers[3] as Viewer;
  const watching = viewers.slice(5);
  const start = snapshot(watching);
  const t0 = performance.now();
  // Acknowledged writes just before the cut: a user and its subscription, and a kick.
  await admin.addUser('acked-before-pg', 'pw-acked-before-pg');
  await admin.grant('acked-before-pg', PROGRAM, null);
  const endedBefore = once(kickedBefore, 'ended');
  const [dBefore] = await admin.kick({ session: kickedBefore.sid }, 'kicked just before the PostgreSQL cut');
  assert.ok(dBefore, 'the kick is acked');
  pgRelay.cut();
  const cutAt = performance.now();
  try {
    await waitFor('both control servers reporting database_error', async () => {
      const hs = await Promise.all([0, 1].map(controlHealth));
      return hs.every((h) => h.status === 'degraded' && h.codes.includes('database_error'));
    }, CUT_MS);
    t.diagnostic(`control servers degraded ${Math.round(performance.now() - cutAt)} ms after the cut`);
    // What needs the database is refused in bounded time, on either control server: an admission, a kick.
    // The answer is a 503 `unavailable` saying why (a transient fault: clients retry), not an opaque 500.
    const unavailable = /answered 503: the control server cannot reach its database right now; try again shortly \(unavailable\)/;
    for (const [i, c] of sys.controls.entries()) {
      const why = await refusedWithin(`an admission on control ${i} during the PostgreSQL cut`, admitDirect(c.url, 'acked-before-pg'), 15_000);
      t.diagnostic(`admission on control ${i} during the PostgreSQL cut: ${why}`);
      assert.match(why, unavailable);
    }
    const kick = admin.kick({ session: (viewers[4] as Viewer).sid }, 'kicked during the PostgreSQL cut');
    const kickWhy = await refusedWithin('a kick during the PostgreSQL cut', kick, 15_000);
    t.diagnostic(`kick during the PostgreSQL cut: ${kickWhy}`);
    assert.match(kickWhy, unavailable);
    // The trackers need no PostgreSQL.
    assert.deepEqual(await Promise.all([0, 1].map(trackerHealth)), [0, 1].map(() => ({ status: 'ok', codes: [] })), 'trackers healthy while PostgreSQL is away');
    await new Promise((r) => setTimeout(r, Math.max(0, CUT_MS - (performance.now() - cutAt))));
  } finally {
    pgRelay.restore();
  }
  const restoredAt = performance.now();
  await waitFor('both control servers healthy again', async () => (await Promise.all([0, 1].map(controlHealth))).every((h) => h.status === 'ok'), 30_000);
  t.diagnostic(`control servers ok ${Math.round(performance.now() - restoredAt)} ms after the restore`);
  assert.ok((await admin.listUsers()).some((u) => u.name === 'acked-before-pg'), 'the user acked just before the cut is there');
  const [endB] = (await within('the viewer kicked before the cut to end', endedBefore, 20_000)) as [{ kind: string; reason: string }];
  assert.deepEqual(endB, { kind: 'kicked', reason: 'kicked just before the PostgreSQL cut' });
  await waitFor('the kick acked before the cut to complete', async () => (await admin.getDisconnect(dBefore.id)).state === 'completed', 20_000);
  const done = await admin.getDisconnect(dBefore.id);
  t.diagnostic(`kick acked before the PostgreSQL cut: ${done.timeline.map((e) => `${e.event} +${e.ms} ms`).join(', ')}`);
  const fresh = await within('an admission after the PostgreSQL cut', sys.viewer('acked-before-pg', PROGRAM), 30_000);
  await waitFor('the new viewer playing', () => fresh.viewer.stats().played >= 2 * perSecond, 30_000);
  assertPlayedOn(t, start, (performance.now() - t0) / 1000, 'the PostgreSQL cut');
  await kickCompletes(viewers[4] as Viewer, 'kicked after the PostgreSQL cut');
});
