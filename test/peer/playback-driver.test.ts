import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import type { LivePiece } from '../../src/core/piece.js';
import { LiveWindow } from '../../src/peer/live-window.js';
import { PlaybackDriver, playbackTimings, type PlaybackPicker, type PlaybackSwarm, type PlaybackTimings } from '../../src/peer/playback-driver.js';
import type { PlaybackSink } from '../../src/peer/playback-sinks.js';

/** 100 ms of stream per piece, a random access point every 10 pieces (a 1 s GOP). */
const INTERVAL = 100;
const GOP = 10;
const T0 = 1_700_000_000_000;

function piece(seq: number): LivePiece {
  const payload = Buffer.alloc(376, seq & 0xff);
  return { seq, timestampMs: T0 + seq * INTERVAL, rapOffset: seq % GOP === 0 ? 188 : null, payload, bytes: payload };
}

class FakePicker implements PlaybackPicker {
  liveEdge: number | null = null;
  playhead: number | null = null;
  readonly advertised = new Set<number>();
  /** The lowest seq a connected source advertised. */
  floor: number | null = null;
  availability(seq: number): number {
    return this.advertised.has(seq) ? 1 : 0;
  }
  isInFlight(): boolean {
    return false;
  }
  sourceFloor(): number | null {
    return this.floor;
  }
  /** Whether the viewers we know hold later pieces than our next, not it. */
  behind = false;
  behindViewers(): boolean {
    return this.behind;
  }
}

class FakeSwarm implements PlaybackSwarm {
  readonly window = new LiveWindow(600);
  readonly picker = new FakePicker();
  readonly playheads: number[] = [];
  setPlayhead(seq: number): void {
    this.playheads.push(seq);
    this.picker.playhead = seq;
  }
}

class Rig {
  readonly clock = new ManualClock(T0);
  readonly swarm = new FakeSwarm();
  /** Seqs written to the player, and the bytes of each write. */
  readonly out: number[] = [];
  readonly writes: Buffer[] = [];
  playing = 0;
  readonly driver: PlaybackDriver;

  constructor(timings: Partial<PlaybackTimings> = {}) {
    // The payload's bytes name the seq (piece()), so the sink knows what it got.
    const sink: PlaybackSink = {
      writeSegment: (bytes) => {
        this.out.push(bytes[bytes.length - 1] as number);
        this.writes.push(bytes);
      },
      close: async () => {},
    };
    this.driver = new PlaybackDriver({
      swarm: this.swarm,
      clock: this.clock,
      nominalIntervalMs: INTERVAL,
      timings: playbackTimings(timings),
      sinks: [sink],
      onPlaying: () => this.playing++,
    });
  }

  /** The source made seq: peers advertise it, so the live edge moves (its bytes come with deliver). */
  made(seq: number): void {
    this.swarm.picker.advertised.add(seq);
    this.swarm.picker.liveEdge = Math.max(this.swarm.picker.liveEdge ?? seq, seq);
  }

  /** A verified piece arrives, as the swarm's 'piece' event brings it; `shiftMs` moves its timestamp (a restarted source's timeline). */
  deliver(seq: number, shiftMs = 0): void {
    const p = piece(seq);
    p.timestampMs += shiftMs;
    if (this.swarm.window.add(p)) this.driver.arrived(p);
  }

  /** The live stream from `from` to `to` (inclusive), each piece made at its timestamp and delivered `delay` later, except `skip`. */
  stream(from: number, to: number, opts: { delay?: number; skip?: (seq: number) => boolean } = {}): void {
    // Under one interval, so time only moves forward.
    const delay = Math.min(opts.delay ?? 50, INTERVAL - 1);
    for (let s = from; s <= to; s++) {
      this.advanceTo(T0 + s * INTERVAL);
      this.made(s);
      this.advanceTo(T0 + s * INTERVAL + delay);
      if (!opts.skip?.(s)) this.deliver(s);
    }
  }

  advanceTo(t: number): void {
    if (t > this.clock.now()) this.clock.advance(t - this.clock.now());
  }
}

test('playback starts startLagMs behind the live edge at a random access point at least minLeadMs behind it, once the preroll is held', () => {
  const r = new Rig();
  r.driver.start();
  // A late joiner: the window already holds 0..49 when the driver first ticks.
  r.advanceTo(T0 + 49 * INTERVAL);
  for (let s = 0; s <= 49; s++) {
    r.made(s);
    r.swarm.window.add(piece(s));
  }
  r.clock.advance(50);
  assert.equal(r.swarm.playheads[0], 39, 'start = edge 49 − startLag 10 pieces, told to the swarm');
  assert.deepEqual(r.out, [], 'the first RAP after 39 is 40, only 9 pieces behind live: under minLead');
  assert.equal(r.playing, 0);
  r.stream(50, 50);
  r.clock.advance(50);
  assert.deepEqual(r.out, [40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50]);
  assert.equal(r.writes[0]?.length, 188, 'the first write starts at the RAP inside piece 40');
  assert.equal(r.playing, 1);
  assert.equal(r.driver.firstByteAt, T0 + 50 * INTERVAL + 50);
  r.driver.stop();
});

test('out-of-order arrivals are written in seq order; the playhead the swarm gets follows what the player consumes', () => {
  const r = new Rig();
  r.driver.start();
  r.stream(0, 29);
  const before = r.out.length;
  r.advanceTo(T0 + 31 * INTERVAL);
  r.made(30);
  r.made(31);
  r.deliver(31);
  assert.equal(r.out.length, before, '31 waits for 30');
  r.deliver(30);
  assert.deepEqual(r.out.slice(before), [30, 31]);
  assert.deepEqual(r.out, [...Array(r.out.length).keys()].map((i) => r.out[0]! + i), 'contiguous, in order');
  r.stream(32, 60);
  const consuming = r.driver.playerClock.playhead(r.clock.now());
  assert.ok(consuming !== null && consuming < 60 - 5, `the player consumes behind live (${consuming})`);
  assert.equal(r.swarm.picker.playhead, consuming, 'deadlines count from what the player consumes, not from what was written');
  const ph = r.swarm.playheads;
  assert.ok(ph.every((s, i) => i === 0 || s > ph[i - 1]!), 'the playhead only moves forward');
  r.driver.stop();
});

test('a hole is skipped to the next random access point after maxStallMs, not before; the skipped pieces count as missed', () => {
  const r = new Rig({ maxStallMs: 2_000 });
  r.driver.start();
  r.stream(0, 54);
  assert.ok(r.out.includes(54));
  // 55 never comes; 56.. do. Output has waited at the hole since 56 came.
  r.stream(55, 75, { skip: (s) => s === 55 });
  const heldSince = T0 + 56 * INTERVAL + 50;
  assert.ok(!r.out.includes(56), 'nothing after the hole went out while waiting');
  r.advanceTo(heldSince + 2_000);
  assert.ok(!r.out.includes(60), 'not before maxStallMs');
  r.clock.advance(100);
  assert.ok(r.out.includes(60), 'resumed after maxStallMs');
  r.stream(76, 100);
  assert.ok(!r.out.includes(56) && !r.out.includes(59), 'resumed at the RAP (60), not in the middle of a GOP');
  assert.equal(r.driver.stats().missed, 5, '55..59 never play');
  assert.equal(r.out.at(-1), 100);
  r.driver.stop();
});

test('a player further than catchUpMs behind live jumps back to the start lag; one within it plays everything', () => {
  const run = (outageMs: number): Rig => {
    const r = new Rig({ catchUpMs: 3_000 });
    r.driver.start();
    r.stream(0, 40);
    // Nothing arrives for outageMs (the player runs dry and waits), then the backlog comes in a burst, its
    // first piece last: output waits at that hole with the rest held, where a player too far behind jumps.
    const gapTo = 40 + outageMs / INTERVAL;
    r.stream(41, gapTo, { skip: () => true });
    r.clock.advance(50);
    for (let s = 42; s <= gapTo; s++) r.deliver(s);
    r.deliver(41);
    r.stream(gapTo + 1, gapTo + 30);
    return r;
  };
  const far = run(5_000);
  const s = far.driver.stats();
  assert.ok(s.missed > 0, 'pieces were jumped over');
  assert.ok(s.behindLiveMs !== null && s.behindLiveMs < 3_000, `back near live (${s.behindLiveMs} ms behind)`);
  // The backlog's edge is 90: the jump goes to 90 − startLag (10 pieces), a random access point.
  const firstAfter = far.out.find((seq) => seq > 41 && !far.out.includes(seq - 1));
  assert.equal(firstAfter, 80);
  const ph = far.swarm.playheads;
  const leap = ph.findIndex((p, i) => i > 0 && p - ph[i - 1]! > 20);
  assert.equal(ph[leap], 80, 'the swarm was told the jump at once');

  // Started ~1 s behind live with ~1 s buffered, then a 2 s outage: stalled ~1 s, ~2 s behind, within catchUpMs.
  const near = run(2_000);
  assert.equal(near.driver.stats().missed, 0, 'within catchUpMs: nothing skipped');
  assert.ok((near.driver.stats().behindLiveMs ?? 0) > 1_500, 'it plays on behind live, stalled by the outage');
  far.driver.stop();
  near.driver.stop();
});

test('continuity: pieces there by their deadline are on time; a late one is counted with the stall it caused', () => {
  const r = new Rig();
  r.driver.start();
  r.stream(0, 60);
  r.clock.advance(3_000);
  const clean = r.driver.stats();
  assert.equal(clean.late, 0);
  assert.ok(clean.onTime >= 20, `pieces judged (${clean.onTime})`);
  assert.equal(clean.continuity, 1);
  // 61 comes 700 ms after it was made: after its deadline (the player is ~1 s behind live, with ~4 pieces' buffer at most).
  const r2 = new Rig();
  r2.driver.start();
  r2.stream(0, 60);
  r2.stream(61, 61, { skip: () => true });
  r2.stream(62, 70);
  r2.advanceTo(T0 + 61 * INTERVAL + 1_500);
  r2.deliver(61);
  r2.clock.advance(3_000);
  const s = r2.driver.stats();
  assert.equal(s.late, 1, 'one late piece');
  assert.ok(s.stalledMs > 0, 'the player stalled for it');
  assert.equal(s.recentLate[0]?.seq, 61);
  assert.ok(s.continuity < 1 && s.continuity > 0.9);
  assert.equal(s.missed, 0, 'late, not skipped');
  r.driver.stop();
  r2.driver.stop();
});

/**
 * The source dies after 60 and a new one starts 3 s later at seq 200 (its sequence reservation ran ahead),
 * stamping pieces with the time it makes them: off the old timeline by 11 s. Nobody advertises 61..199.
 * Returns the rig once 30 new pieces came, each 50 ms after it was made.
 */
function restart(o: { floor: number | null }): Rig {
  const r = new Rig();
  r.driver.start();
  r.stream(0, 60);
  r.swarm.picker.floor = o.floor;
  const back = T0 + 60 * INTERVAL + 3_000;
  for (let i = 0; i < 30; i++) {
    const seq = 200 + i;
    r.advanceTo(back + i * INTERVAL);
    r.made(seq);
    r.advanceTo(back + i * INTERVAL + 50);
    r.deliver(seq, back + i * INTERVAL - piece(seq).timestampMs);
  }
  return r;
}

test("a restarted source's gap is passed over once the new stream's preroll is held: not missed, not late", () => {
  const r = restart({ floor: null });
  const at60 = r.out.indexOf(60);
  assert.equal(r.out[at60 + 1], 200, 'straight from the last old piece to the new stream');
  const s = r.driver.stats();
  assert.equal(s.gapped, 139);
  assert.deepEqual(s.lastGap, { from: 61, to: 200 });
  assert.equal(s.missed, 0);
  assert.equal(s.late, 0, 'the never-made seqs are not judged; the stall ends with the first new piece');
  // The player resumed with the new stream's first pieces: a few hundred ms behind its source, not the gap's 14 s.
  assert.ok(s.behindLiveMs !== null && s.behindLiveMs < 1_000, `behind live ${s.behindLiveMs} ms`);
  r.driver.stop();
});

test('a hole a connected source made (its floor is below it) is waited for, not passed over as a gap', () => {
  const r = restart({ floor: 61 });
  const s = r.driver.stats();
  assert.equal(s.gapped, 0, 'not a gap: the source made those seqs');
  // Waited for, then skipped as an ordinary hole after maxStallMs.
  assert.equal(s.missed, 139);
  r.driver.stop();
});

test('after stop() no tick runs and arriving pieces are ignored', () => {
  const r = new Rig();
  r.driver.start();
  r.stream(0, 30);
  const n = r.out.length;
  assert.ok(n > 0);
  r.driver.stop();
  r.stream(31, 40);
  r.clock.advance(1_000);
  assert.equal(r.out.length, n);
  assert.equal(r.clock.timers, 0, 'the tick timer is cancelled');
});

test('a player behind the crowd (viewers hold later pieces, not its next) jumps at catchUpBehindCrowdMs; one that is not waits for catchUpMs', () => {
  const run = (behindCrowd: boolean): Rig => {
    const r = new Rig({ catchUpMs: 10_000, catchUpBehindCrowdMs: 3_000 });
    r.swarm.picker.behind = behindCrowd;
    r.driver.start();
    r.stream(0, 40);
    // 5 s with nothing, then the backlog in a burst, its first piece last (as above): about 5 s behind live.
    r.stream(41, 90, { skip: () => true });
    r.clock.advance(50);
    for (let s = 42; s <= 90; s++) r.deliver(s);
    r.deliver(41);
    r.stream(91, 120);
    return r;
  };
  const behind = run(true);
  assert.ok(behind.driver.stats().missed > 0, 'behind the crowd, 5 s behind live: it jumped');
  const alone = run(false);
  assert.equal(alone.driver.stats().missed, 0, 'not behind the crowd: 5 s is within catchUpMs, nothing skipped');
  const [jumped, stayed] = [behind.driver.stats().behindLiveMs ?? Infinity, alone.driver.stats().behindLiveMs ?? 0];
  assert.ok(stayed > 4_000, `it plays on, behind live (${stayed} ms)`);
  assert.ok(jumped <= 3_000 && jumped < stayed - 1_000, `the one behind the crowd is back within catchUpBehindCrowdMs (${jumped} ms vs ${stayed} ms)`);
  behind.driver.stop();
  alone.driver.stop();
});
