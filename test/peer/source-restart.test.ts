/**
 * The viewer's side of a source restart, pure parts in virtual time: a seq
 * gap at the live edge while the source is gone, then new pieces on a new
 * timeline. The player does not wait for seqs that will never exist, does not
 * count them as missed or late, and goes on from the first new piece.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import type { LivePiece } from '../../src/core/piece.js';
import { PlaybackBuffer } from '../../src/peer/playback-buffer.js';
import { PlayerClock, sourceJump } from '../../src/peer/player-clock.js';
import { PlayoutMeter } from '../../src/peer/playout-meter.js';
import { PiecePicker } from '../../src/peer/piece-picker.js';
import { encodeWindow } from '../../src/peer/bitmap.js';

const I = 100;

function piece(seq: number, ts: number, rap = seq % 10 === 0): LivePiece {
  const payload = Buffer.alloc(188, seq & 0xff);
  return { seq, timestampMs: ts, rapOffset: rap ? 0 : null, payload, bytes: payload };
}

/** The viewer's drain loop (src/peer/viewer.ts) over the pure parts, with what peers advertise. */
class Player {
  readonly clock = new PlayerClock(I);
  readonly meter = new PlayoutMeter(this.clock);
  /** Output starts 1 s (10 pieces) behind the newest piece: the player's lead. */
  readonly buffer: PlaybackBuffer;
  private edge: number | null = null;
  readonly advertised = new Set<number>();
  played: number[] = [];
  private first: number | null = null;

  constructor(
    private readonly time: ManualClock,
    preroll: number,
  ) {
    this.buffer = new PlaybackBuffer({ startSeq: 0, preroll, minLead: 10 });
  }

  arrive(p: LivePiece): void {
    this.clock.observe(p.seq, p.timestampMs);
    this.meter.arrived(p.seq, this.time.now());
    this.buffer.offer(p);
    this.edge = Math.max(this.edge ?? p.seq, p.seq);
  }

  drain(): void {
    const now = this.time.now();
    const gapped = this.buffer.gapped;
    const out = this.buffer.drain(now, 2_000, this.edge, { intervalMs: this.clock.intervalMs, obtainable: (s) => this.advertised.has(s) });
    if (this.buffer.gapped > gapped) this.clock.skipped((this.buffer.gapped - gapped) * this.clock.intervalMs);
    for (const seg of out) {
      this.first ??= seg.seq;
      this.clock.started(seg.seq * I, now);
      this.played.push(seg.seq);
    }
    if (this.first !== null) this.meter.update(now, this.first, (s) => this.buffer.skipped(s), (s) => this.buffer.inGap(s));
  }
}

/**
 * Source 1 makes seqs 0..lastOld at one every 100 ms, received 1 s after they are made (the viewer's lead);
 * it dies; `downMs` later source 2 starts at `firstNew` with its own timestamps. Returns the player after 6 s more.
 */
function run(o: { lastOld: number; downMs: number; firstNew: number; advertiseHole?: boolean; preroll?: number }): { p: Player; killedAt: number; resumedAt: number | null } {
  const time = new ManualClock(0);
  const p = new Player(time, o.preroll ?? 3);
  let resumedAt: number | null = null;
  const step = (): void => {
    time.advance(10);
    p.drain();
  };
  // Old stream: piece s made at s*I, the player holds ~1 s of it when the source dies.
  for (let s = 0; s <= o.lastOld; s++) {
    p.arrive(piece(s, s * I));
    for (let k = 0; k < I / 10; k++) step();
  }
  const killedAt = time.now();
  if (o.advertiseHole) p.advertised.add(o.lastOld + 1);
  while (time.now() < killedAt + o.downMs) step();
  const t2 = time.now();
  for (let i = 0; i < 60; i++) {
    const seq = o.firstNew + i;
    p.arrive(piece(seq, t2 + i * I + 50_000, i % 10 === 0));
    for (let k = 0; k < I / 10; k++) {
      step();
      if (resumedAt === null && p.played.includes(o.firstNew)) resumedAt = time.now();
    }
  }
  return { p, killedAt, resumedAt };
}

test('a jump of the source timeline is told from jitter', () => {
  assert.equal(sourceJump({ seq: 10, ts: 1_000 }, { seq: 11, ts: 1_150 }, 100), null, 'jitter');
  assert.equal(sourceJump({ seq: 10, ts: 1_000 }, { seq: 210, ts: 22_200 }, 100), null, "the interval's error over 200 pieces");
  assert.equal(sourceJump({ seq: 10, ts: 1_000 }, { seq: 15, ts: 7_000 }, 100), 5_500, 'a restart 5 s later');
  assert.equal(sourceJump({ seq: 10, ts: 1_000 }, { seq: 5_010, ts: 9_000 }, 100), -492_000, "a clock floor's far seq");
});

test('the player clock keeps its interval across a restart and its deadlines run on from the old stream', () => {
  const c = new PlayerClock(100);
  for (let s = 0; s <= 20; s++) c.observe(s, 1_000 + s * 100);
  c.started(1_000, 2_000);
  assert.equal(c.deadline(21), 4_100);
  // The source restarts 6 s of wall time later at seq 25.
  c.observe(25, 1_000 + 20 * 100 + 6_000);
  assert.equal(c.intervalMs, 100, 'no interval sample from the jump');
  assert.equal(c.sourceJumps, 1);
  assert.equal(c.deadline(25), 4_500, 'seq 25 falls due right after 24');
  c.observe(26, 1_000 + 20 * 100 + 6_100);
  assert.equal(c.intervalMs, 100);
});

for (const preroll of [1, 3]) test(`a source restart (preroll ${preroll}): stall as long as the outage less the lead, the never-made seqs passed over, nothing missed, nothing late`, () => {
  const { p, killedAt, resumedAt } = run({ lastOld: 50, downMs: 5_000, firstNew: 55, preroll });
  assert.ok(resumedAt !== null, 'playback resumed');
  assert.deepEqual(p.buffer.lastGap, { from: 51, to: 55 });
  assert.equal(p.buffer.gapped, 4);
  assert.equal(p.buffer.missed, 0);
  assert.equal(p.meter.late, 0, JSON.stringify(p.meter.recentLate));
  assert.ok(p.played.includes(55) && !p.played.some((s) => s > 50 && s < 55));
  // Lead 1 s: the player ran dry ~1 s after the kill and waited until the new RAP with its preroll was here.
  const waited = resumedAt - (killedAt + 1_000);
  assert.ok(Math.abs(p.meter.stalledMs - waited) <= 50, `stalled ${p.meter.stalledMs} ms, waited ${waited} ms`);
  assert.ok(p.meter.stalledMs < 5_000 + 300, `stalled ${p.meter.stalledMs} ms`);
  // Back to playing close behind the new source, not 50 s (its clock) nor the outage behind.
  assert.ok((p.clock.behindMs ?? Infinity) - 50_000 < 1_000, `behind ${p.clock.behindMs}`);
});

test('a hole some peer still advertises is waited for as before, not passed over as a gap', () => {
  const { p } = run({ lastOld: 50, downMs: 5_000, firstNew: 55, advertiseHole: true });
  assert.equal(p.buffer.gapped, 0);
  assert.ok(p.buffer.missed > 0, 'skipped after maxStallMs, as any hole');
});

test('without a timeline jump a hole is no gap: held pieces after it wait for it', () => {
  const b = new PlaybackBuffer({ startSeq: 0 });
  b.offer(piece(0, 0));
  b.offer(piece(2, 200));
  const check = { intervalMs: 100, obtainable: () => false };
  assert.deepEqual(b.drain(0, 2_000, null, check).map((s) => s.seq), [0]);
  assert.deepEqual(b.drain(1_000, 2_000, null, check), []);
  assert.equal(b.gapped, 0);
});

test("the source's window may leap past maxLeap (a restart far ahead); a viewer's may not", () => {
  const picker = new PiecePicker({ maxLeap: 100 });
  picker.peerHave('v1', 1_000);
  picker.setSource('src');
  picker.peerHave('v2', 5_000);
  assert.equal(picker.liveEdge, 1_000);
  picker.peerWindow('src', 50_000, encodeWindow(50_000, [50_000, 50_001], 2));
  assert.equal(picker.liveEdge, 50_001);
  assert.equal(picker.availability(50_001), 1);
});

test('the meter: seqs of a gap are not judged, and the piece after it ends the same stall rather than counting late', () => {
  const c = new PlayerClock(100);
  const m = new PlayoutMeter(c);
  for (let s = 0; s < 10; s++) {
    c.observe(s, s * 100);
    m.arrived(s, 0);
  }
  c.started(0, 0);
  const gap = (s: number): boolean => s >= 10 && s < 15;
  m.update(1_000, 0, () => false, () => false);
  assert.equal(m.onTime, 10);
  m.update(3_000, 0, () => false, () => false);
  assert.equal(m.stalledMs, 2_000, 'waiting on 10 while the source is gone');
  // The new source's piece 15 comes at 3 005; output passed over 10..14 (0.5 s of seqs) at once.
  c.observe(15, 1_500);
  m.arrived(15, 3_005);
  c.skipped(500);
  m.update(3_005, 0, () => false, gap);
  assert.equal(m.late, 0, JSON.stringify(m.recentLate));
  assert.equal(m.onTime, 11);
  assert.equal(m.stalledMs, 2_005);
  assert.equal(m.continuity, 1);
});

test("a source restart's hole is reported (so the catch-up jump leaves it alone) before the new stream has prerolled", () => {
  const b = new PlaybackBuffer({ startSeq: 0, preroll: 3 });
  for (let s = 0; s < 5; s++) b.offer(piece(s, s * 100, s === 0));
  assert.equal(b.drain(0, 2_000).length, 5);
  const check = { intervalMs: 100, obtainable: () => false };
  assert.equal(b.sourceGapEnd(check), null, 'at the live edge, nothing after');
  b.offer(piece(9, 8_000, true));
  assert.equal(b.sourceGapEnd(check), 9);
  assert.equal(b.sourceGapEnd({ ...check, obtainable: (s) => s === 6 }), null, 'a peer has 6');
  assert.deepEqual(b.drain(100, 2_000, null, check), [], 'the RAP alone is no preroll');
  assert.equal(b.gapped, 0);
  b.offer(piece(10, 8_100));
  b.offer(piece(11, 8_200));
  assert.deepEqual(b.drain(200, 2_000, null, check).map((s) => s.seq), [9, 10, 11]);
  assert.deepEqual(b.lastGap, { from: 5, to: 9 });
  assert.equal(b.missed, 0);
  assert.equal(b.sourceGapEnd(check), null);
});

test("the source floor: a connected source made every seq from its first advertised on; a restarted one's starts after its gap", () => {
  const picker = new PiecePicker();
  assert.equal(picker.sourceFloor(), null);
  picker.setSource('old');
  picker.peerWindow('old', 100, encodeWindow(100, [100, 101, 102], 3));
  picker.peerHave('old', 103);
  picker.setPlayhead(103);
  assert.equal(picker.sourceFloor(), 100, 'kept below the playhead');
  picker.peerGone('old');
  assert.equal(picker.sourceFloor(), null);
  picker.setSource('new');
  picker.peerHave('new', 112);
  picker.peerHave('v', 90);
  assert.equal(picker.sourceFloor(), 112, "a viewer's seqs are not the source's");
});
