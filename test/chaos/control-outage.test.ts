/**
 * Chaos: the control server down (`kill -9`) for twice the token lifetime
 * (10 s tokens, 20 s outage), then back on the same port and database.
 * Nobody is ended: viewers and broadcaster keep their processes and sessions
 * and play on; every session's renewals go through again on the restarted
 * server (its request log); the lists agree; a kick afterwards still ends its
 * viewer (exit 4). During the outage there is no one to take a kick.
 */
import { test, before, after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChaosSystem, waitFor, type ChaosViewer } from './harness.js';
import { assertAlive, assertKept, kickAndExpectExit4, snapshot, waitGrowing, waitListsAgree } from './checks.js';

const TOKEN_TTL_S = 10;

let sys: ChaosSystem;

before(async () => {
  sys = await ChaosSystem.start('control-outage', ['ann', 'ben'], { tokenTtlS: TOKEN_TTL_S });
});

after(async () => {
  await sys?.stop();
});

/** Renewals of `sid` the control server's request log shows answered 200 (pino: the request line, then its completion). */
function renewalsOk(log: string, sid: string): number {
  const ids = new Set<string>();
  let ok = 0;
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    let rec: { reqId?: string; req?: { method?: string; url?: string }; res?: { statusCode?: number } };
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch {
      continue;
    }
    if (rec.reqId === undefined) continue;
    if (rec.req?.method === 'POST' && rec.req.url === `/v1/sessions/${sid}/renew`) ids.add(rec.reqId);
    else if (rec.res?.statusCode === 200 && ids.has(rec.reqId)) ok++;
  }
  return ok;
}

test('control server down for 2x the token lifetime: nobody is ended, renewals resume, lists agree, a kick after still ends', async () => {
  const [ann, ben] = ['ann', 'ben'].map((u) => sys.viewer(u)) as [ChaosViewer, ChaosViewer];
  const keep = [ann, ben];
  const snap = await snapshot(sys, keep);
  await waitListsAgree(sys, keep, 15_000, snap.sourceSid);
  const sids = [...keep.map((v) => v.sid()!), snap.sourceSid];
  // Renewals show in the log: the first server has renewed everyone before the outage.
  await waitFor('a renewal of every session before the outage', () => sids.every((sid) => renewalsOk(sys.control.log(), sid) > 0), 15_000);

  await sys.control.kill9();
  await sleep(2 * TOKEN_TTL_S * 1_000);
  assertAlive([...keep, sys.broadcaster, sys.tracker], `the control server's first ${2 * TOKEN_TTL_S} s away`);
  await sys.startControl();

  await waitFor('a renewal of every session on the restarted control server', () => sids.every((sid) => renewalsOk(sys.control.log(), sid) >= 1), 20_000);
  await waitGrowing(keep, 10_000);
  await assertKept(snap, 'a control outage of 2x the token lifetime');
  assertAlive([sys.broadcaster, sys.tracker], 'a control outage of 2x the token lifetime');
  await waitListsAgree(sys, keep, 15_000, snap.sourceSid);

  await kickAndExpectExit4(sys, ben, 'kicked after the control outage');
  await waitListsAgree(sys, [ann], 10_000, snap.sourceSid);
  await waitGrowing([ann], 10_000);
  assertAlive([ann, sys.broadcaster], 'a control outage and a kick');
});
