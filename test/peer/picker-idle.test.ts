import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PiecePicker, type AssignPeer } from '../../src/peer/piece-picker.js';
import { encodeWindow } from '../../src/peer/bitmap.js';

// A pass that asks for nothing is replayed, not run, until something it reads changes (picker-idle.ts).
const PEERS: AssignPeer[] = ['a', 'b', 'c'].map((key) => ({ key, maxInFlight: 3, isSource: false }));
const at = (nowMs: number) => ({ nowMs, pieceIntervalMs: 100 });

/** Three peers holding 0..9; we hold 0..7 and have 8 and 9 in flight at a, asked at t = 0; 10 is held only by x, which chokes us. */
function busyPicker(): PiecePicker {
  const p = new PiecePicker({ endgameMs: 1_000, endgameAfterMs: 250, maxRequestsPerPiece: 2 });
  for (const { key } of PEERS) p.peerWindow(key, 0, encodeWindow(0, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 10));
  p.setPlayhead(0);
  for (let s = 0; s < 8; s++) p.received(s);
  p.requested(8, 'a', 0);
  p.requested(9, 'a', 0);
  p.peerHave('x', 10);
  return p;
}

test('a replayed empty pass turns the tie rotation as the pass itself would have', () => {
  // Two pickers in the same state; one replays its empty passes, the other is made to run each of them
  // (releasePeer of a peer owing nothing changes no answer but invalidates the replay).
  const replaying = busyPicker();
  const running = busyPicker();
  for (let t = 10; t <= 200; t += 10) {
    assert.deepEqual(replaying.assign(PEERS, at(t)), []);
    running.releasePeer('nobody');
    assert.deepEqual(running.assign(PEERS, at(t)), []);
  }
  // Piece 11 appears at b and c: the tie between them is broken by the rotation both pickers have turned
  // (each pass turned it once, looking for a holder of 10 among the peers that unchoke us).
  for (const p of [replaying, running]) {
    p.peerHave('b', 11);
    p.peerHave('c', 11);
  }
  const a = replaying.assign(PEERS, at(210));
  const b = running.assign(PEERS, at(210));
  assert.equal(a.length, 1);
  assert.deepEqual(a, b);
});

test('an endgame coming due is not hidden by a replayed pass', () => {
  const p = busyPicker();
  assert.deepEqual(p.assign(PEERS, at(100)), [], 'first requests too recent for endgame');
  assert.deepEqual(p.assign(PEERS, at(249)), [], 'still too recent');
  const second = p.assign(PEERS, at(250));
  assert.deepEqual(second.map((r) => r.seq).sort(), [8, 9], 'at 250 ms both pieces go to a second peer');
  assert.ok(second.every((r) => r.peerKey !== 'a'));
});

test('news that changes the answer ends the replay; news of a piece we hold does not', () => {
  const p = busyPicker();
  assert.deepEqual(p.assign(PEERS, at(10)), []);
  p.peerHave('b', 5); // we hold 5
  assert.deepEqual(p.assign(PEERS, at(20)), []);
  p.peerHave('b', 11);
  assert.deepEqual(p.assign(PEERS, at(30)).map((r) => [r.seq, r.peerKey]), [[11, 'b']]);
  p.requested(11, 'b', 30);
  // A peer that unchokes us (a new entry in the list) is looked at too.
  p.peerHave('d', 12);
  assert.deepEqual(p.assign(PEERS, at(40)), [], 'd is not among the peers that may be asked');
  assert.deepEqual(p.assign([...PEERS, { key: 'd', maxInFlight: 3, isSource: false }], at(50)).map((r) => [r.seq, r.peerKey]), [[12, 'd']]);
});

test('news of a holder of a piece in flight, heard while its endgame waits, is used once the endgame comes due', () => {
  const p = new PiecePicker({ endgameMs: 1_000, endgameAfterMs: 250, maxRequestsPerPiece: 2 });
  p.peerWindow('a', 0, encodeWindow(0, [0, 1, 2], 3));
  p.setPlayhead(0);
  p.received(0);
  p.received(1);
  p.requested(2, 'a', 0);
  const peers: AssignPeer[] = [...PEERS, { key: 'd', maxInFlight: 3, isSource: false }];
  assert.deepEqual(p.assign(peers, at(100)), [], 'only a holds 2, and it is asked already');
  p.peerHave('d', 2);
  assert.deepEqual(p.assign(peers, at(200)), [], 'endgame not due yet');
  assert.deepEqual(p.assign(peers, at(250)).map((r) => [r.seq, r.peerKey]), [[2, 'd']]);
});
