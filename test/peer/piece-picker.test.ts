import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PiecePicker, type Released } from '../../src/peer/piece-picker.js';
import { encodeWindow } from '../../src/peer/bitmap.js';
import { ProtocolError } from '../../src/core/errors.js';

// 100 ms per piece: the 2 s urgency horizon is 20 pieces, the 1.5 s source horizon 15, endgame 1 s is 10.
interface PickOptions {
  nowMs: number;
  maxInFlight: number;
  isSource: boolean;
  pieceIntervalMs: number;
}
const opts = (o: Partial<PickOptions> = {}): PickOptions => ({ nowMs: 0, maxInFlight: 100, isSource: false, pieceIntervalMs: 100, ...o });
/** What assign() would ask of this one peer, best first. */
const pick = (p: PiecePicker, key: string, o: PickOptions): number[] =>
  p.assign([{ key, maxInFlight: o.maxInFlight, isSource: o.isSource }], o).map((r) => r.seq);
/** Released requests without their blocks. */
const refs = (list: Released[]): Array<{ seq: number; peerKey: string }> => list.map(({ seq, peerKey }) => ({ seq, peerKey }));
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function withWindow(p: PiecePicker, peer: string, seqs: number[], base = 0): void {
  const top = Math.max(...seqs, base);
  p.peerWindow(peer, base, encodeWindow(base, seqs, top - base + 1));
}

test('picks nothing before the caller sets a playhead', () => {
  const p = new PiecePicker();
  withWindow(p, 'a', range(0, 5));
  assert.deepEqual(pick(p, 'a', opts()), []);
  assert.equal(p.liveEdge, 5);
});

test('picks only what the peer has, we lack, and nobody is fetching, from the playhead on', () => {
  const p = new PiecePicker();
  withWindow(p, 'a', [1, 2, 3, 4, 5]);
  p.setPlayhead(2);
  p.received(3);
  p.requested(4, 'b', 0);
  assert.deepEqual(pick(p, 'a', opts()), [2, 5]);
  assert.deepEqual(pick(p, 'nobody', opts()), []);
});

test('urgent pieces come first, earliest deadline first; the rest rarest first, ties by lower seq', () => {
  const p = new PiecePicker();
  p.setPlayhead(100);
  withWindow(p, 'a', range(100, 140), 100);
  withWindow(p, 'b', [...range(100, 119), 130, 131, 135], 100); // b makes 130, 131, 135 less rare
  withWindow(p, 'c', [131], 131);
  const picked = pick(p, 'a', opts());
  assert.deepEqual(picked.slice(0, 20), range(100, 119), 'urgent: within 2 s of the playhead, in seq order');
  const rest = picked.slice(20);
  assert.deepEqual(rest.slice(0, 18), [...range(120, 129), ...range(132, 134), ...range(136, 140)], 'held by a only');
  assert.deepEqual(rest.slice(18), [130, 135, 131], 'then two copies, then three');
});

test('the budget counts requests already in flight to that peer', () => {
  const p = new PiecePicker();
  p.setPlayhead(0);
  withWindow(p, 'a', range(0, 30));
  assert.deepEqual(pick(p, 'a', opts({ maxInFlight: 3 })), [0, 1, 2]);
  for (const s of [0, 1]) p.requested(s, 'a', 0);
  assert.deepEqual(pick(p, 'a', opts({ maxInFlight: 3 })), [2]);
  p.requested(2, 'a', 0);
  assert.deepEqual(pick(p, 'a', opts({ maxInFlight: 3 })), []);
  assert.equal(p.inFlightCount('a'), 3);
});

test('the source is asked only for what no viewer has, unless it is due within sourceUrgencyMs', () => {
  const p = new PiecePicker({ sourceUrgencyMs: 1_500 });
  p.setPlayhead(0);
  withWindow(p, 'src', range(0, 40));
  withWindow(p, 'v', range(0, 35));
  const fromSource = pick(p, 'src', opts({ isSource: true }));
  assert.deepEqual(fromSource, [...range(0, 14), ...range(36, 40)]);
});

test('setSource keeps viewer availability right when roles are known up front', () => {
  const p = new PiecePicker();
  p.setSource('src');
  p.setPlayhead(0);
  withWindow(p, 'src', range(0, 30));
  assert.deepEqual(pick(p, 'src', opts({ isSource: true })), range(0, 30), 'no viewer has anything: the source is the only way');
  p.peerHave('v', 25);
  assert.equal(pick(p, 'src', opts({ isSource: true })).includes(25), false);
  assert.equal(p.availability(25), 2);
});

test('a request older than requestTimeoutMs is released and goes to another peer', () => {
  const p = new PiecePicker({ requestTimeoutMs: 3_000 });
  p.setPlayhead(50);
  withWindow(p, 'a', range(50, 80), 50);
  withWindow(p, 'b', range(50, 80), 50);
  p.requested(60, 'a', 1_000);
  p.requested(61, 'a', 2_500);
  assert.deepEqual(p.timedOut(3_999), []);
  assert.deepEqual(refs(p.timedOut(4_000)), [{ seq: 60, peerKey: 'a' }]);
  assert.equal(p.isInFlight(60), false);
  assert.equal(pick(p, 'a', opts({ nowMs: 4_000 })).includes(60), false, 'not back to the peer that failed while b has it');
  assert.equal(pick(p, 'b', opts({ nowMs: 4_000 })).includes(60), true);
});

test('a peer that failed a piece is asked again when nobody else has it', () => {
  const p = new PiecePicker();
  p.setPlayhead(0);
  withWindow(p, 'a', [0, 1, 2]);
  p.requested(1, 'a', 0);
  p.requestFailed(1, 'a');
  assert.deepEqual(pick(p, 'a', opts()), [0, 1, 2]);
});

test('endgame: an urgent piece in flight is asked of a second peer only near its deadline and after a wait', () => {
  const p = new PiecePicker({ endgameMs: 1_000, endgameAfterMs: 500, maxRequestsPerPiece: 2 });
  p.setPlayhead(0);
  for (const k of ['a', 'b', 'c']) withWindow(p, k, range(0, 30));
  p.requested(3, 'a', 0); // due in 300 ms
  p.requested(15, 'a', 0); // due in 1.5 s: urgent but not endgame
  assert.equal(pick(p, 'b', opts({ nowMs: 499 })).includes(3), false, 'first request still young');
  const later = pick(p, 'b', opts({ nowMs: 500 }));
  assert.equal(later.includes(3), true);
  assert.equal(later.includes(15), false);
  p.requested(3, 'b', 500);
  assert.equal(pick(p, 'c', opts({ nowMs: 5_000 })).includes(3), false, 'bounded by maxRequestsPerPiece');
  assert.deepEqual(refs(p.received(3, 'b')), [{ seq: 3, peerKey: 'a' }], 'the other asker is named for a cancel');
  assert.equal(p.isInFlight(3), false);
  assert.equal(p.has(3), true);
});

test('peerGone releases its requests and its copies', () => {
  const p = new PiecePicker();
  p.setPlayhead(0);
  withWindow(p, 'a', [0, 1, 2]);
  withWindow(p, 'b', [1]);
  p.requested(0, 'a', 0);
  p.requested(1, 'a', 0);
  assert.deepEqual(refs(p.peerGone('a')), [
    { seq: 0, peerKey: 'a' },
    { seq: 1, peerKey: 'a' },
  ]);
  assert.equal(p.availability(1), 1);
  assert.equal(p.availability(2), 0);
  assert.deepEqual(pick(p, 'b', opts()), [1]);
  assert.deepEqual(p.peerGone('a'), []);
});

test('releasePeer frees requests to a peer that choked us', () => {
  const p = new PiecePicker();
  p.setPlayhead(0);
  withWindow(p, 'a', [0, 1]);
  p.requested(0, 'a', 0);
  assert.deepEqual(refs(p.releasePeer('a')), [{ seq: 0, peerKey: 'a' }]);
  assert.deepEqual(pick(p, 'a', opts()), [0, 1]);
});

test('moving the playhead forgets the past and hands back stale requests', () => {
  const p = new PiecePicker();
  p.setPlayhead(0);
  withWindow(p, 'a', range(0, 9));
  p.requested(2, 'a', 0);
  p.requested(7, 'a', 0);
  p.received(3);
  assert.deepEqual(refs(p.setPlayhead(5)), [{ seq: 2, peerKey: 'a' }]);
  assert.equal(p.availability(4), 0);
  assert.equal(p.has(3), false);
  assert.deepEqual(pick(p, 'a', opts()), [5, 6, 8, 9]);
  p.peerHave('a', 4);
  assert.equal(p.availability(4), 0, 'a have behind the playhead is not kept');
});

test('a new window replaces what we knew of the peer; a malformed one throws ProtocolError', () => {
  const p = new PiecePicker();
  p.setPlayhead(0);
  withWindow(p, 'a', [0, 1, 2]);
  withWindow(p, 'a', [2, 3], 2);
  assert.equal(p.availability(0), 0);
  assert.equal(p.availability(3), 1);
  assert.throws(() => p.peerWindow('a', -1, Buffer.alloc(1)), ProtocolError);
});

test('the live edge follows haves and receipts but ignores an absurd leap', () => {
  const p = new PiecePicker({ maxLeap: 100 });
  p.peerHave('a', 10);
  p.received(12);
  assert.equal(p.liveEdge, 12);
  p.peerHave('a', 1_000_000);
  assert.equal(p.liveEdge, 12);
  p.setPlayhead(0);
  assert.deepEqual(pick(p, 'a', opts()), [10]);
});

test('pieces past maxLookahead from the playhead are not picked', () => {
  const p = new PiecePicker({ maxLookahead: 5 });
  p.setPlayhead(0);
  withWindow(p, 'a', range(0, 20));
  assert.deepEqual(pick(p, 'a', opts()), range(0, 5));
});

test('assign spreads the wanted pieces over every holder, least loaded first, instead of queueing them at one', () => {
  const p = new PiecePicker();
  p.setPlayhead(0);
  for (const peer of ['a', 'b', 'c']) withWindow(p, peer, range(0, 4));
  p.requested(9, 'a', 0); // a already owes us one piece
  const out = p.assign(
    ['a', 'b', 'c'].map((key) => ({ key, maxInFlight: 3, isSource: false })),
    { nowMs: 0, pieceIntervalMs: 100 },
  );
  assert.deepEqual(out.map((r) => r.seq), range(0, 4), 'every wanted piece once, earliest deadline first');
  const perPeer = (k: string): number => out.filter((r) => r.peerKey === k).length;
  assert.deepEqual([perPeer('a'), perPeer('b'), perPeer('c')], [1, 2, 2], 'loads end level: 2, 2, 2 with the one a already had');
  assert.notEqual(out[0]?.peerKey, 'a', 'the first piece goes to a peer with nothing outstanding');
});

test('assign asks a viewer before the source, and the source only for what is urgent or nobody else has', () => {
  const p = new PiecePicker({ sourceUrgencyMs: 400 });
  p.setPlayhead(0);
  withWindow(p, 'src', range(0, 20));
  withWindow(p, 'v', range(0, 15));
  const out = p.assign(
    [
      { key: 'src', maxInFlight: 1, isSource: true },
      { key: 'v', maxInFlight: 2, isSource: false },
    ],
    { nowMs: 0, pieceIntervalMs: 100 },
  );
  assert.deepEqual(out, [
    { seq: 0, peerKey: 'v' },
    { seq: 1, peerKey: 'v' },
    { seq: 2, peerKey: 'src' },
  ], 'v is full after two; piece 2 is due within 400 ms, so the source may serve it');
  const later = new PiecePicker({ sourceUrgencyMs: 400 });
  later.setPlayhead(0);
  withWindow(later, 'src', range(0, 20));
  withWindow(later, 'v', range(0, 15));
  for (const s of range(0, 15)) later.requested(s, 'v', 0);
  const fromSource = later.assign([{ key: 'src', maxInFlight: 1, isSource: true }], { nowMs: 0, pieceIntervalMs: 100 });
  assert.deepEqual(fromSource, [{ seq: 16, peerKey: 'src' }], 'pieces only the source has come from it; 0–15 are a viewer\'s');
});

test('assign asks a second holder for a piece only after the first has had it for the endgame delay', () => {
  const p = new PiecePicker({ endgameAfterMs: 250 });
  p.setPlayhead(0);
  withWindow(p, 'a', [0]);
  withWindow(p, 'b', [0]);
  p.requested(0, 'a', 1_000);
  const peers = [{ key: 'b', maxInFlight: 2, isSource: false }];
  assert.deepEqual(p.assign(peers, { nowMs: 1_100, pieceIntervalMs: 100 }), []);
  assert.deepEqual(p.assign(peers, { nowMs: 1_250, pieceIntervalMs: 100 }), [{ seq: 0, peerKey: 'b' }]);
});

test('blocks of a request are kept until the piece is whole; a release names the blocks still owed', () => {
  const p = new PiecePicker({ pieceLength: 40_000 });
  p.setPlayhead(0);
  withWindow(p, 'a', [0, 1]);
  withWindow(p, 'b', [0]);
  const blocks = p.requested(0, 'a', 0);
  assert.deepEqual(blocks, [
    { begin: 0, length: 16_384 },
    { begin: 16_384, length: 16_384 },
    { begin: 32_768, length: 7_232 },
  ]);
  p.requested(0, 'b', 0);
  const first = Buffer.alloc(16_384, 1);
  assert.equal(p.block(0, 'a', 0, first), null);
  assert.equal(p.block(0, 'a', 0, first), 'unexpected', 'the same block twice');
  assert.equal(p.block(0, 'a', 100, first), 'unexpected', 'not on a block boundary');
  assert.equal(p.block(1, 'a', 0, first), 'unexpected', 'never asked for');
  assert.equal(p.block(0, 'a', 32_768, Buffer.alloc(10)), 'unexpected', 'the wrong length');
  p.block(0, 'b', 16_384, Buffer.alloc(16_384));
  assert.equal(p.block(0, 'a', 32_768, Buffer.alloc(7_232)), null);
  const whole = p.block(0, 'a', 16_384, Buffer.alloc(16_384, 2));
  assert.ok(Array.isArray(whole));
  assert.equal(whole[0], first, 'kept as it arrived, not copied');
  assert.deepEqual(p.received(0, 'a'), [
    { seq: 0, peerKey: 'b', missing: [{ begin: 0, length: 16_384 }, { begin: 32_768, length: 7_232 }] },
  ], 'b is told to cancel only what it has not sent');
  assert.equal(p.isInFlight(0), false);
  assert.equal(p.block(0, 'a', 0, first), 'unexpected', 'a late block after the piece arrived');
});

test('a playhead moving a piece at a time, then jumping, forgets exactly what falls behind it', () => {
  const p = new PiecePicker();
  p.setPlayhead(0);
  withWindow(p, 'a', range(0, 99));
  withWindow(p, 'b', [3, 4, 60]);
  for (const s of [1, 2, 3, 70]) p.received(s);
  for (let head = 1; head <= 4; head++) p.setPlayhead(head);
  assert.deepEqual(range(0, 5).map((s) => p.availability(s)), [0, 0, 0, 0, 2, 1]);
  assert.equal(p.has(3), false);
  assert.equal(p.has(70), true);
  p.setPlayhead(65);
  assert.equal(p.availability(60), 0);
  assert.equal(p.availability(64), 0);
  assert.equal(p.availability(65), 1);
  assert.equal(p.has(70), true);
  assert.deepEqual(pick(p, 'a', opts()).slice(0, 3), [65, 66, 67]);
});

test('behindViewers: only when no viewer holds the piece at the playhead while one holds a later one (the source does not count)', () => {
  const p = new PiecePicker();
  p.setSource('src');
  withWindow(p, 'src', range(0, 30));
  p.setPlayhead(10);
  assert.equal(p.behindViewers(), false, 'only the source holds anything: the crowd is not ahead of us');
  p.peerHave('v', 20);
  assert.equal(p.behindViewers(), true, 'a viewer holds 20, none holds 10');
  p.peerHave('w', 10);
  assert.equal(p.behindViewers(), false, 'a viewer holds our next piece');
  p.setPlayhead(11);
  assert.equal(p.behindViewers(), true);
  p.received(11);
  assert.equal(p.behindViewers(), false, 'we hold the piece at the playhead');
});
