/**
 * The control server's QoE: the board's bookkeeping and aggregates in virtual
 * time, and the relayed reports reaching GET /v1/admin/sessions and
 * GET /v1/admin/programs/:id/stats through a (fake) tracker's link.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import type { AdmissionResult, SessionRecord } from '../../src/core/types.js';
import { aggregateQoe, median } from '../../src/control/qoe-stats.js';
import { QoeBoard } from '../../src/control/qoe-board.js';
import type { SessionView } from '../../src/control/schemas.js';
import { sampleQoe } from '../helpers/qoe-sample.js';
import { admin, newClientKey, startWithTracker, type FakeTracker, type Harness } from './helpers.js';

function session(id: string, over: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id,
    user: 'u',
    program: 'news',
    role: 'viewer',
    clientKey: 'k',
    state: 'joined',
    ip: '127.0.0.1',
    port: 1,
    trackerId: 't1',
    createdAt: 0,
    joinedAt: 0,
    endedAt: null,
    endReason: null,
    ...over,
  };
}

describe('aggregateQoe', () => {
  it('takes medians, the worst continuity, a bytes-weighted share from peers, sums of rates and the viewers behind live', () => {
    assert.equal(median([]), null);
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    const a = aggregateQoe(
      4,
      [
        sampleQoe({ continuity: 1, startup_s: 1, behind_live_s: 2, bytes_from_peers: 900, bytes_from_source: 100, down_bps: 10, up_bps: 5, from_source_bps: 1, peers: 3 }),
        sampleQoe({ continuity: 0.9, startup_s: 3, behind_live_s: 12, bytes_from_peers: 0, bytes_from_source: 1_000, down_bps: 20, up_bps: 0, from_source_bps: 7, peers: 1 }),
        sampleQoe({ continuity: 0.99, startup_s: null, behind_live_s: null, bytes_from_peers: 100, bytes_from_source: 900, down_bps: 30, up_bps: 1, from_source_bps: 2, peers: 5 }),
      ],
      5,
    );
    assert.deepEqual(a, {
      viewers: 4,
      reporting: 3,
      continuityMedian: 0.99,
      continuityWorst: 0.9,
      startupMedianS: 2,
      stalledMedianS: 0.2,
      behindLiveMedianS: 7,
      behindLiveOver: 1,
      fromPeersShare: 1_000 / 3_000,
      downBps: 60,
      upBps: 6,
      sourceBps: 10,
      peersMedian: 3,
    });
    const none = aggregateQoe(2, [], 5);
    assert.deepEqual([none.reporting, none.continuityMedian, none.continuityWorst, none.fromPeersShare, none.downBps], [0, null, null, null, 0]);
  });
});

describe('QoeBoard', () => {
  const setup = (opts: { maxSessions?: number } = {}) => {
    const clock = new ManualClock(1_800_000_000_000);
    const sessions: SessionRecord[] = [];
    const board = new QoeBoard({ clock, sessions: async () => sessions, freshMs: 10_000, retainMs: 60_000, forgetMs: 600_000, ...opts });
    return { clock, sessions, board };
  };

  it("dates a report by its age, keeps the latest, and shows it only for the session's own tracker", () => {
    const { clock, board } = setup();
    board.record('t1', [{ sid: 'a', qoe: sampleQoe({ peers: 2 }), age_ms: 1_500 }]);
    assert.equal(board.view(session('a'))?.updated_at, new Date(clock.now() - 1_500).toISOString());
    assert.equal(board.view(session('a'))?.peers, 2);
    // An older report (a frame that was delayed) does not replace a newer one.
    board.record('t1', [{ sid: 'a', qoe: sampleQoe({ peers: 9 }), age_ms: 4_000 }]);
    assert.equal(board.view(session('a'))?.peers, 2);
    clock.advance(2_000);
    board.record('t1', [{ sid: 'a', qoe: sampleQoe({ peers: 3 }), age_ms: 0 }]);
    assert.equal(board.view(session('a'))?.peers, 3);
    assert.equal(board.view(session('a', { trackerId: 't2' })), null, 'another tracker’s report does not count');
    assert.equal(board.view(session('b')), null, 'null until the first report');
  });

  it("aggregates a program's open viewers' fresh reports only", async () => {
    const { clock, sessions, board } = setup();
    sessions.push(session('a'), session('b'), session('c'), session('src', { role: 'source' }), session('gone', { state: 'ended' }), session('other', { program: 'sport' }));
    board.record('t1', [
      { sid: 'a', qoe: sampleQoe({ continuity: 1 }), age_ms: 0 },
      { sid: 'b', qoe: sampleQoe({ continuity: 0.8 }), age_ms: 0 },
      { sid: 'src', qoe: sampleQoe({ continuity: 0.1 }), age_ms: 0 },
      { sid: 'gone', qoe: sampleQoe({ continuity: 0.1 }), age_ms: 0 },
      { sid: 'other', qoe: sampleQoe({ continuity: 0.1 }), age_ms: 0 },
    ]);
    let s = await board.programStats('news');
    assert.deepEqual([s.viewers, s.reporting, s.continuity_worst, s.continuity_median], [3, 2, 0.8, 0.9]);
    assert.equal(s.updated_at, new Date(clock.now()).toISOString());
    clock.advance(6_000);
    board.record('t1', [{ sid: 'a', qoe: sampleQoe({ continuity: 0.95 }), age_ms: 0 }]);
    clock.advance(5_000);
    // b's report is 11 s old now: stale, left out.
    s = await board.programStats('news');
    assert.deepEqual([s.viewers, s.reporting, s.continuity_worst], [3, 1, 0.95]);
  });

  it("keeps an ended session's report a while, drops it after; forgets silent ones; holds at most maxSessions", () => {
    const { clock, board } = setup({ maxSessions: 3 });
    board.record('t1', [
      { sid: 'a', qoe: sampleQoe(), age_ms: 0 },
      { sid: 'b', qoe: sampleQoe(), age_ms: 0 },
      { sid: 'c', qoe: sampleQoe(), age_ms: 0 },
    ]);
    assert.equal(board.record('t1', [{ sid: 'd', qoe: sampleQoe(), age_ms: 0 }]), 0, 'full');
    board.ended('a');
    clock.advance(59_000);
    board.record('t1', [{ sid: 'b', qoe: sampleQoe(), age_ms: 0 }]);
    assert.notEqual(board.view(session('a')), null, 'kept within retainMs');
    clock.advance(2_000);
    board.record('t1', [{ sid: 'b', qoe: sampleQoe(), age_ms: 0 }]);
    assert.equal(board.view(session('a')), null, 'dropped after retainMs');
    assert.equal(board.record('t1', [{ sid: 'd', qoe: sampleQoe(), age_ms: 0 }]), 1, 'room again');
    // c has not reported for over 10 minutes: its session went without a word.
    clock.advance(600_000);
    board.record('t1', [{ sid: 'b', qoe: sampleQoe(), age_ms: 0 }]);
    assert.equal(board.view(session('c')), null);
    assert.equal(board.size, 2, 'b and d');
  });
});

describe('QoE over the control link and the admin API', () => {
  let h: Harness & { url: string; tracker: FakeTracker };
  before(async () => {
    h = await startWithTracker();
  });
  after(async () => {
    await h.close();
  });

  async function admit(): Promise<string> {
    const res = await h.server.app.inject({
      method: 'POST',
      url: '/v1/programs/news/request',
      payload: { user: 'alice', password: 'pw-alice', client_key: newClientKey().publicKey },
    });
    assert.equal(res.statusCode, 200);
    return (res.json() as AdmissionResult).session;
  }

  const sessions = async (): Promise<SessionView[]> => ((await admin(h, 'GET', '/v1/admin/sessions')).body as { sessions: SessionView[] }).sessions;
  const stats = async (program: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await admin(h, 'GET', `/v1/admin/programs/${program}/stats`);
    return { status: res.status, body: res.body ?? {} };
  };

  it('shows qoe null until the first report, then the relayed figures; the program stats aggregate them', async () => {
    const sid = await admit();
    h.tracker.send({ type: 'join', id: 'j1', sid, ip: '10.0.0.9', port: 6881, at: h.clock.now() });
    assert.deepEqual(await h.tracker.next(), { type: 'ack', id: 'j1' });
    assert.equal((await sessions()).find((s) => s.id === sid)?.qoe, null);

    let st = await stats('news');
    assert.equal(st.status, 200);
    assert.deepEqual([st.body.viewers, st.body.reporting, st.body.continuity_median], [1, 0, null]);

    h.tracker.send({ type: 'qoe', items: [{ sid, qoe: sampleQoe({ continuity: 0.991, from_peers_share: 0.6 }), age_ms: 250 }] });
    // No ack for qoe: wait until the control server has taken it.
    const deadline = Date.now() + 5_000;
    while (h.server.qoe.size === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const qoe = (await sessions()).find((s) => s.id === sid)?.qoe;
    assert.deepEqual(qoe, {
      continuity: 0.991,
      stalled_s: 0.2,
      startup_s: 1.4,
      behind_live_s: 2.1,
      down_bps: 2_100_000,
      up_bps: 1_900_000,
      from_peers_share: 0.6,
      peers: 4,
      updated_at: new Date(h.clock.now() - 250).toISOString(),
    });

    st = await stats('news');
    const body = st.body;
    assert.deepEqual(
      [body.program, body.viewers, body.reporting, body.continuity_median, body.continuity_worst, body.from_peers_share, body.behind_live_over],
      ['news', 1, 1, 0.991, 0.991, 0.75, 0],
    );

    // The session leaves: its report goes with it (after the retention), and the program has no viewer.
    h.tracker.send({ type: 'leave', id: 'l1', sid, reason: 'stopped', at: h.clock.now() });
    assert.deepEqual(await h.tracker.next(), { type: 'ack', id: 'l1' });
    st = await stats('news');
    assert.deepEqual([st.body.viewers, st.body.reporting], [0, 0]);
  });

  it('answers stats of an unknown program with unknown_program', async () => {
    const res = await stats('nope');
    assert.equal(res.status, 404);
    assert.equal((res.body.error as { code: string }).code, 'unknown_program');
  });

  it('takes the good items of a qoe frame and drops the others, without counting them as bad frames', async () => {
    const sid = await admit();
    h.tracker.send({ type: 'join', id: 'j2', sid, ip: '10.0.0.9', port: 6882, at: h.clock.now() });
    assert.deepEqual(await h.tracker.next(), { type: 'ack', id: 'j2' });
    // More frames than the bad-frame limit (5), each with an item this server cannot take.
    for (let i = 0; i < 8; i++) {
      h.tracker.send({ type: 'qoe', items: [{ sid: 'x', qoe: { ...sampleQoe(), continuity: 7 }, age_ms: 0 }, { sid, qoe: sampleQoe({ peers: i }), age_ms: 0 }] });
    }
    // The link is still up (a join is acked after them, in order), and the good items were taken.
    h.tracker.send({ type: 'join', id: 'j3', sid, ip: '10.0.0.9', port: 6882, at: h.clock.now() });
    assert.deepEqual(await h.tracker.next(), { type: 'ack', id: 'j3' });
    const qoe = (await sessions()).find((s) => s.id === sid)?.qoe;
    assert.equal(qoe?.peers, 7);
    assert.equal(h.server.qoe.entry({ id: 'x', trackerId: 'tracker-1' }), null);
  });
});
