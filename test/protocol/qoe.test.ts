/** QoE reports: the heartbeat's and the control link's schemas, and the viewer's reporter that must always fit them. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clientToTracker } from '../../src/protocol/tracker-channel.js';
import { trackerToControl } from '../../src/protocol/control-link.js';
import { parseQoe, QOE_ITEMS_MAX, takeQoeItems } from '../../src/protocol/qoe.js';
import { QoeReporter } from '../../src/peer/qoe-report.js';
import type { ViewerStats } from '../../src/peer/viewer.js';
import { sampleQoe } from '../helpers/qoe-sample.js';

const heartbeat = (qoe: unknown): string => JSON.stringify({ type: 'heartbeat', qoe });

describe('heartbeat qoe', () => {
  it('is optional, and a heartbeat with a valid report parses with it', () => {
    assert.deepEqual(clientToTracker.parse(JSON.stringify({ type: 'heartbeat' })), { type: 'heartbeat' });
    assert.deepEqual(clientToTracker.parse(heartbeat(sampleQoe())), { type: 'heartbeat', qoe: sampleQoe() });
    // Before playback: no startup, no lag, no bytes.
    const early = sampleQoe({ startup_s: null, behind_live_s: null, from_peers_share: null });
    assert.deepEqual(clientToTracker.parse(heartbeat(early)), { type: 'heartbeat', qoe: early });
  });

  const bad: Array<[string, unknown]> = [
    ['continuity over 1', sampleQoe({ continuity: 1.5 })],
    ['a negative stall', sampleQoe({ stalled_s: -1 })],
    ['a share over 1', sampleQoe({ from_peers_share: 2 })],
    ['a rate past 100 Gbit/s', sampleQoe({ down_bps: 1e12 })],
    ['fractional peers', sampleQoe({ peers: 1.5 })],
    ['NaN (null on the wire) where a number is required', { ...sampleQoe(), continuity: null }],
    ['a missing figure', (({ peers: _p, ...rest }) => rest)(sampleQoe())],
    ['an extra field', { ...sampleQoe(), evil: 1 }],
    ['a string', 'fine'],
    ['null', null],
  ];
  for (const [what, qoe] of bad) {
    it(`refuses a report with ${what}, but not the heartbeat that carries it`, () => {
      const q = parseQoe(qoe);
      assert.ok('error' in q, JSON.stringify(q));
      assert.deepEqual(clientToTracker.parse(heartbeat(qoe)), { type: 'heartbeat', qoe });
    });
  }
  it('takes a valid report', () => {
    assert.deepEqual(parseQoe(sampleQoe()), { qoe: sampleQoe() });
  });
});

describe('control link qoe', () => {
  const item = (sid: string) => ({ sid, qoe: sampleQoe(), age_ms: 120 });
  it(`carries 1 to ${QOE_ITEMS_MAX} items, each with a bounded age`, () => {
    const one = { type: 'qoe', items: [item('s1')] };
    assert.deepEqual(trackerToControl.parse(JSON.stringify(one)), one);
    const full = { type: 'qoe', items: Array.from({ length: QOE_ITEMS_MAX }, (_, i) => item(`s${i}`)) };
    const text = JSON.stringify(full);
    assert.ok(text.length < 64 * 1024, `a full frame is ${text.length} bytes`);
    assert.equal(trackerToControl.parse(text).type, 'qoe');
  });
  it('refuses an empty or over-long batch', () => {
    assert.throws(() => trackerToControl.parse(JSON.stringify({ type: 'qoe', items: [] })), /bad message/);
    const over = { type: 'qoe', items: Array.from({ length: QOE_ITEMS_MAX + 1 }, (_, i) => ({ sid: `s${i}`, qoe: sampleQoe(), age_ms: 0 })) };
    assert.throws(() => trackerToControl.parse(JSON.stringify(over)), /bad message/);
  });
  it('takes the items that match one by one and counts the others (a negative age, a bad report, a newer field)', () => {
    const bad = [{ ...item('a'), age_ms: -5 }, { ...item('b'), qoe: sampleQoe({ continuity: -0.1 }) }, { ...item('c'), qoe: { ...sampleQoe(), newer: 1 } }, 'x', null];
    const frame = trackerToControl.parse(JSON.stringify({ type: 'qoe', items: [item('ok'), ...bad] }));
    assert.equal(frame.type, 'qoe');
    if (frame.type === 'qoe') assert.deepEqual(takeQoeItems(frame.items), { items: [item('ok')], dropped: bad.length });
  });
});

function stats(over: Partial<ViewerStats> = {}): ViewerStats {
  return {
    session: 's',
    peers: 3,
    downBps: 2_000_000,
    upBps: 1_000_000,
    bufferS: 1,
    bytesFromSource: 100_000,
    bytesFromPeers: 300_000,
    uploaded: 50_000,
    played: 10,
    missed: 0,
    gapped: 0,
    lastGap: null,
    onTime: 99,
    late: 1,
    continuity: 0.99,
    stalledMs: 1_250,
    behindLiveMs: 2_500,
    recentLate: [],
    startedAt: 10_000,
    admittedAt: 10_100,
    listedAt: 10_200,
    firstByteAt: 11_500,
    latencyMs: [],
    ...over,
  };
}

describe('QoeReporter', () => {
  it("turns a viewer's stats into a report, with its rate from the source over the last period", () => {
    const r = new QoeReporter();
    const first = r.report(stats(), 20_000);
    assert.deepEqual(first, {
      continuity: 0.99,
      stalled_s: 1.25,
      startup_s: 1.5,
      behind_live_s: 2.5,
      down_bps: 2_000_000,
      up_bps: 1_000_000,
      from_peers_share: 0.75,
      peers: 3,
      bytes_from_peers: 300_000,
      bytes_from_source: 100_000,
      bytes_uploaded: 50_000,
      from_source_bps: 0,
    });
    // 25,000 more bytes from the source in 2 s: 100 kbit/s.
    assert.equal(r.report(stats({ bytesFromSource: 125_000 }), 22_000).from_source_bps, 100_000);
  });

  it('reports what it does not know yet as null, and clamps what is out of bounds so the heartbeat still parses', () => {
    const r = new QoeReporter();
    const early = r.report(stats({ firstByteAt: null, behindLiveMs: null, bytesFromPeers: 0, bytesFromSource: 0 }), 1);
    assert.deepEqual([early.startup_s, early.behind_live_s, early.from_peers_share], [null, null, null]);
    const wild = r.report(stats({ continuity: NaN, downBps: Infinity, upBps: -5, peers: 1e9, stalledMs: -3, behindLiveMs: 1e15 }), 2);
    assert.equal(wild.continuity, 1);
    assert.equal(wild.down_bps, 1e11);
    assert.equal(wild.up_bps, 0);
    assert.equal(wild.peers, 100_000);
    assert.equal(wild.stalled_s, 0);
    for (const q of [early, wild]) assert.deepEqual(parseQoe(JSON.parse(JSON.stringify(q))), { qoe: q });
  });
});
