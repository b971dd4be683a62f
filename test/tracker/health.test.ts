/**
 * The tracker's `GET /health` over real HTTP: degraded before its hello is
 * welcomed and while the control link is down, ok with the link up, with
 * counts of sessions and swarms and nothing that names a session.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { trackerHealth, type TrackerHealth } from '../../src/tracker/health.js';
import { announceQuery, announceHttp, failureOf, httpGet, infoHashOf, peerIdOf, startRig } from './helpers.js';

async function health(base: string): Promise<{ body: TrackerHealth; raw: string }> {
  const res = await httpGet(`${base}/health`);
  assert.equal(res.status, 200, 'degraded or not, health answers 200');
  assert.equal(res.type, 'application/json');
  const raw = res.body.toString('utf8');
  return { body: JSON.parse(raw) as TrackerHealth, raw };
}

const codes = (h: TrackerHealth): string[] => h.reasons.map((r) => r.code);

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('tracker health', () => {
  it('is degraded (no_control_key) while its hello has not been welcomed', async () => {
    const rig = await startRig({ welcome: false });
    try {
      await rig.control.received.waitFor((m) => m.type === 'hello');
      const { body } = await health(rig.base);
      assert.equal(body.status, 'degraded');
      assert.deepEqual(codes(body), ['no_control_key']);
      assert.match(body.reasons[0]!.message, /every announce is refused/);
      assert.equal(body.control_link, 'down');
    } finally {
      await rig.close();
    }
  });

  it('is ok with the link up and counts sessions and swarms without naming any; control_link_down when the link drops', async () => {
    const rig = await startRig();
    try {
      const empty = (await health(rig.base)).body;
      assert.deepEqual(
        { status: empty.status, reasons: empty.reasons, link: empty.control_link, sessions: empty.sessions, swarms: empty.swarms, pending: empty.pending_reports },
        { status: 'ok', reasons: [], link: 'up', sessions: 0, swarms: 0, pending: 0 },
      );

      const sids = ['health-sid-alpha', 'health-sid-beta'];
      for (const [i, sid] of sids.entries()) {
        const token = await rig.token({ sid, prg: 'news' });
        const r = await announceHttp(rig.announceUrl, announceQuery({ infoHash: infoHashOf('news'), peerId: peerIdOf(i), port: 7000 + i, token }));
        assert.equal(failureOf(r), undefined);
      }
      await until('both joins acked', async () => rig.tracker.pendingReports() === 0);
      const { body, raw } = await health(rig.base);
      assert.deepEqual({ status: body.status, sessions: body.sessions, swarms: body.swarms }, { status: 'ok', sessions: 2, swarms: 1 });
      // Counts only: no session id, user, peer id, address or port.
      for (const secret of [...sids, 'user-health-sid', peerIdOf(0).toString(), '127.0.0.1', '7000', 'news']) {
        assert.ok(!raw.includes(secret), `health shows ${secret}`);
      }
      assert.deepEqual(Object.keys(body).sort(), ['control_link', 'pending_reports', 'reasons', 'sessions', 'status', 'swarms', 'time']);

      rig.control.kick();
      await until('the dropped link to show', async () => (await health(rig.base)).body.control_link === 'down');
      const down = (await health(rig.base)).body;
      assert.equal(down.status, 'degraded');
      assert.deepEqual(codes(down), ['control_link_down']);
      assert.match(down.reasons[0]!.message, /joins and leaves wait to be reported/);
    } finally {
      await rig.close();
    }
  });

  it('reports more unacked joins and leaves than the maximum as report_backlog', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    let link = { connected: true, pending: 3 };
    const check = trackerHealth({ clock, link: () => link, hasKey: () => true, sessions: () => 5, swarms: () => 2, maxPendingReports: 3 });
    assert.equal(check().status, 'ok');
    link = { connected: true, pending: 4 };
    assert.deepEqual(check(), {
      status: 'degraded',
      reasons: [{ code: 'report_backlog', message: "4 joins and leaves wait for the control server's ack (more than 3)" }],
      control_link: 'up',
      pending_reports: 4,
      sessions: 5,
      swarms: 2,
      time: '2026-01-01T00:00:00.000Z',
    });
  });

  it('answers /health only to GET and HEAD, like every other tracker path', async () => {
    const rig = await startRig();
    try {
      const res = await fetch(`${rig.base}/health`, { method: 'POST' });
      assert.equal(res.status, 405);
      const head = await fetch(`${rig.base}/health`, { method: 'HEAD' });
      assert.equal(head.status, 200);
    } finally {
      await rig.close();
    }
  });
});
