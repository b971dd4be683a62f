/** The tracker's QoE relay in virtual time: latest wins, batched and bounded frames, nothing resent, dropped on leave. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import type { QoeItem } from '../../src/protocol/qoe.js';
import { QoeRelay } from '../../src/tracker/qoe-relay.js';
import { sampleQoe } from '../helpers/qoe-sample.js';

function setup(opts: { maxItems?: number; maxFrames?: number; maxSessions?: number } = {}) {
  const clock = new ManualClock(1_000_000);
  const frames: QoeItem[][] = [];
  const link = { up: true };
  const relay = new QoeRelay({
    clock,
    flushMs: 1_000,
    ...opts,
    send: (items) => {
      if (!link.up) return false;
      frames.push(items);
      return true;
    },
  });
  relay.start();
  return { clock, frames, link, relay };
}

describe('QoeRelay', () => {
  it('sends each session’s latest report once per flush period, with its age, and nothing when nothing changed', () => {
    const { clock, frames, relay } = setup();
    relay.report('a', sampleQoe({ continuity: 0.5 }));
    clock.advance(200);
    relay.report('a', sampleQoe({ continuity: 0.9 }));
    relay.report('b', sampleQoe({ peers: 7 }));
    assert.equal(frames.length, 0, 'nothing before the flush period');
    clock.advance(800);
    assert.equal(frames.length, 1);
    assert.deepEqual(
      frames[0]?.map((i) => [i.sid, i.qoe.continuity, i.qoe.peers, i.age_ms]),
      [
        ['a', 0.9, 4, 800],
        ['b', 0.995, 7, 800],
      ],
    );
    clock.advance(5_000);
    assert.equal(frames.length, 1, 'unchanged reports are not sent again');
    assert.equal(relay.size, 2);
  });

  it(`batches at most maxItems per frame and maxFrames per flush; the rest waits, oldest first`, () => {
    const { clock, frames, relay } = setup({ maxItems: 3, maxFrames: 2 });
    for (let i = 0; i < 8; i++) relay.report(`s${i}`, sampleQoe());
    clock.advance(1_000);
    assert.deepEqual(frames.map((f) => f.map((i) => i.sid)), [['s0', 's1', 's2'], ['s3', 's4', 's5']]);
    assert.equal(relay.pending, 2);
    // A newer report of a waiting session keeps its place in the queue.
    relay.report('s7', sampleQoe({ peers: 9 }));
    clock.advance(1_000);
    assert.deepEqual(frames[2]?.map((i) => [i.sid, i.qoe.peers]), [['s6', 4], ['s7', 9]]);
    assert.equal(relay.pending, 0);
  });

  it('keeps reports while the link is down and sends the latest (with its true age) once it is up; never resends a sent one', () => {
    const { clock, frames, link, relay } = setup();
    link.up = false;
    relay.report('a', sampleQoe({ continuity: 0.1 }));
    clock.advance(3_000);
    relay.report('a', sampleQoe({ continuity: 0.2 }));
    clock.advance(2_000);
    assert.equal(frames.length, 0);
    assert.equal(relay.pending, 1);
    link.up = true;
    clock.advance(1_000);
    assert.deepEqual(frames.map((f) => f.map((i) => [i.sid, i.qoe.continuity, i.age_ms])), [[['a', 0.2, 3_000]]]);
    clock.advance(10_000);
    assert.equal(frames.length, 1);
  });

  it('drops a session’s report when it leaves, sent or not', () => {
    const { clock, frames, relay } = setup();
    relay.report('a', sampleQoe());
    relay.report('b', sampleQoe());
    relay.forget('a');
    clock.advance(1_000);
    assert.deepEqual(frames.map((f) => f.map((i) => i.sid)), [['b']]);
    relay.forget('b');
    assert.equal(relay.size, 0);
  });

  it('holds reports of at most maxSessions sessions', () => {
    const { clock, frames, relay } = setup({ maxSessions: 2 });
    assert.equal(relay.report('a', sampleQoe()), true);
    assert.equal(relay.report('b', sampleQoe()), true);
    assert.equal(relay.report('c', sampleQoe()), false);
    assert.equal(relay.report('a', sampleQoe({ peers: 1 })), true, 'a held session still updates');
    clock.advance(1_000);
    assert.deepEqual(frames[0]?.map((i) => i.sid), ['a', 'b']);
    relay.forget('b');
    assert.equal(relay.report('c', sampleQoe()), true, 'room again once one left');
  });

  it('stops flushing when stopped', () => {
    const { clock, frames, relay } = setup();
    relay.report('a', sampleQoe());
    relay.stop();
    clock.advance(5_000);
    assert.equal(frames.length, 0);
  });
});
