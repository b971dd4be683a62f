/**
 * What the chaos suite asserts after a fault: every viewer keeps its process
 * and its session, its output grows again, the control server's list and the
 * tracker's agree, and an operator kick still ends a session (exit code 4).
 */
import assert from 'node:assert/strict';
import type { ChaosSystem, ChaosViewer, ChaosProcess } from './harness.js';

export interface Snapshot {
  /** Each viewer's session id as it printed it at admission. */
  sids: Map<ChaosViewer, string>;
  /** The broadcaster's source session on the control server. */
  sourceSid: string;
}

export async function snapshot(sys: ChaosSystem, viewers: ChaosViewer[]): Promise<Snapshot> {
  const sids = new Map<ChaosViewer, string>();
  for (const v of viewers) {
    const sid = v.sid();
    assert.ok(sid, `${v.name} has no session id: ${v.tail()}`);
    sids.set(v, sid);
  }
  const sources = (await sys.sessions()).filter((s) => s.role === 'source' && s.state !== 'ended');
  assert.equal(sources.length, 1, `one open source session, got ${JSON.stringify(sources)}`);
  return { sids, sourceSid: sources[0]!.id };
}

export function assertAlive(procs: ChaosProcess[], after: string): void {
  for (const p of procs) assert.ok(p.alive, `${p.name} exited ${JSON.stringify(p.exit)} after ${after}: ${p.tail()}`);
}

/** Every viewer still runs, under the session it was admitted with (never re-admitted), as its own status says too. */
export async function assertKept(snap: Snapshot, after: string): Promise<void> {
  assertAlive([...snap.sids.keys()], after);
  for (const [v, sid] of snap.sids) {
    assert.equal(v.sid(), sid, `${v.name} changed session after ${after}`);
    assert.equal(v.admissions(), 1, `${v.name} was admitted again after ${after}: ${v.tail()}`);
    assert.equal((await v.stats()).session, sid, `${v.name}'s status names another session after ${after}`);
  }
}

/** Resolves once every viewer's output is larger than it is now; fails naming the ones that did not grow. */
export async function waitGrowing(viewers: ChaosViewer[], timeoutMs: number): Promise<void> {
  const from = new Map(viewers.map((v) => [v, v.outputSize()]));
  const end = Date.now() + timeoutMs;
  for (;;) {
    const stuck = viewers.filter((v) => v.outputSize() <= from.get(v)!);
    if (stuck.length === 0) return;
    for (const v of stuck) assert.ok(v.alive, `${v.name} exited ${JSON.stringify(v.exit)} while waiting for its output to grow: ${v.tail()}`);
    if (Date.now() > end) {
      assert.fail(`outputs did not grow within ${timeoutMs} ms: ${stuck.map((v) => `${v.name} stuck at ${from.get(v)} bytes`).join(', ')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The control server's list of clients in the system and the tracker's agree: the control server lists as open
 * exactly the running viewers' sessions and one source session (`sourceSid` when given), all joined, and the
 * tracker holds that many sessions.
 */
export async function waitListsAgree(sys: ChaosSystem, viewers: ChaosViewer[], timeoutMs: number, sourceSid?: string): Promise<void> {
  const want = new Set(viewers.map((v) => v.sid()));
  const end = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const open = (await sys.sessions()).filter((s) => s.state !== 'ended');
      const health = await sys.trackerHealth();
      const viewerIds = new Set(open.filter((s) => s.role === 'viewer').map((s) => s.id));
      const sources = open.filter((s) => s.role === 'source');
      const notJoined = open.filter((s) => s.state !== 'joined').map((s) => `${s.id} ${s.state}`);
      const problems: string[] = [];
      if (viewerIds.size !== want.size || [...want].some((id) => !id || !viewerIds.has(id))) {
        problems.push(`control lists viewers [${[...viewerIds].sort().join(', ')}], running viewers are [${[...want].sort().join(', ')}]`);
      }
      if (sources.length !== 1 || (sourceSid !== undefined && sources[0]!.id !== sourceSid)) {
        problems.push(`control lists sources [${sources.map((s) => s.id).join(', ')}]${sourceSid ? `, want ${sourceSid}` : ''}`);
      }
      if (notJoined.length > 0) problems.push(`not joined: ${notJoined.join(', ')}`);
      if (health === null) problems.push('the tracker does not answer /health');
      else if (health.sessions !== open.length) problems.push(`the tracker holds ${health.sessions} sessions, control lists ${open.length} open`);
      if (problems.length === 0) return;
      last = problems.join('; ');
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > end) assert.fail(`control and tracker lists do not agree within ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** An operator kick (through `gatecast admin kick SID` with cli): the viewer exits with code 4 and leaves the control server's list. */
export async function kickAndExpectExit4(sys: ChaosSystem, v: ChaosViewer, reason: string, opts: { cli?: boolean; timeoutMs?: number } = {}): Promise<void> {
  const sid = v.sid();
  assert.ok(sid, `${v.name} has no session id`);
  await (opts.cli ? sys.kickCli(sid, reason) : sys.kick(sid, reason));
  await awaitExit4(sys, v, reason, opts.timeoutMs);
}

/** The kicked viewer exits with code 4 and the operator's reason, and the control server ends its session. */
export async function awaitExit4(sys: ChaosSystem, v: ChaosViewer, reason: string, timeoutMs = 15_000): Promise<void> {
  const sid = v.sid();
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([
    v.exited,
    new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs))),
  ]).finally(() => clearTimeout(timer));
  assert.ok(exit, `${v.name} still running ${timeoutMs} ms after the kick: ${v.tail()}`);
  assert.equal(exit.code, 4, `${v.name} exited ${JSON.stringify(exit)} after the kick: ${v.tail()}`);
  assert.match(v.log(), new RegExp(`ended by the operator: ${reason}`));
  const end = Date.now() + timeoutMs;
  while ((await sys.sessions()).some((s) => s.id === sid && s.state !== 'ended')) {
    if (Date.now() > end) assert.fail(`the control server still lists ${sid} as open ${timeoutMs} ms after ${v.name} exited`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
