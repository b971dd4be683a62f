import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventClock } from '../../sim/event-clock.js';
import { LinkModel, PROFILES, type LinkProfile } from '../../sim/links.js';
import { Rng } from '../../sim/rng.js';

const exact: LinkProfile = { ...PROFILES['wan'] as LinkProfile, loss: 0, turnMs: 0 };

function model(profile: LinkProfile = exact): { clock: EventClock; links: LinkModel; t0: number } {
  const clock = new EventClock();
  return { clock, links: new LinkModel(clock, new Rng(7), profile), t0: clock.now() };
}

test('an uplink cap holds: 50 blocks of 10 kB at 100 kB/s leave over 5 s, none faster than the cap allows', () => {
  const { clock, links, t0 } = model();
  links.addNode('a', { upBytesPerS: 100_000, accessMs: 10 });
  for (const id of ['b', 'c', 'd']) links.addNode(id, { upBytesPerS: null, accessMs: 20 });
  const sent: number[] = [];
  const arrived: number[] = [];
  for (let i = 0; i < 50; i++) {
    links.deliver('a', ['b', 'c', 'd'][i % 3] as string, 10_000, () => arrived.push(clock.now() - t0), () => sent.push(clock.now() - t0));
  }
  clock.runUntil(t0 + 60_000);
  assert.equal(sent.length, 50);
  assert.equal(arrived.length, 50);
  // By any time t, at most 100 kB/s × t has left (each block leaves once its last byte has).
  sent.forEach((at, i) => assert.ok(at >= ((i + 1) * 10_000 * 1000) / 100_000 - 1e-6, `block ${i} left at ${at} ms`));
  assert.ok(Math.abs((sent[49] as number) - 5_000) < 1e-6, `the last block left at ${sent[49]} ms, not at 5 s`);
  // Each arrives one-way latency (both ends' access) after it left.
  arrived.forEach((at, i) => assert.ok(Math.abs(at - (sent[i] as number) - 30) < 1e-6));
});

test('a link without a cap sends at once; latency is the sum of both ends', () => {
  const { clock, links, t0 } = model();
  links.addNode('a', { upBytesPerS: null, accessMs: 5 });
  links.addNode('b', { upBytesPerS: null, accessMs: 70 });
  let sentAt = -1;
  let arrivedAt = -1;
  links.deliver('a', 'b', 1_000_000, () => (arrivedAt = clock.now() - t0), () => (sentAt = clock.now() - t0));
  assert.equal(sentAt, 0, 'sent within the call');
  assert.equal(arrivedAt, -1, 'never inside the sender\'s call');
  clock.runUntil(t0 + 1_000);
  assert.equal(arrivedAt, 75);
});

test('a small message to another peer does not wait behind queued blocks; on the same link it keeps TCP order', () => {
  const { clock, links, t0 } = model();
  links.addNode('a', { upBytesPerS: 100_000, accessMs: 0 });
  links.addNode('b', { upBytesPerS: null, accessMs: 0 });
  links.addNode('c', { upBytesPerS: null, accessMs: 0 });
  const order: string[] = [];
  const at: Record<string, number> = {};
  const note = (name: string) => () => {
    order.push(name);
    at[name] = clock.now() - t0;
  };
  for (let i = 0; i < 10; i++) links.deliver('a', 'b', 16_384, note(`block${i}`), () => undefined);
  links.deliver('a', 'c', 9, note('have-to-c'), () => undefined);
  links.deliver('a', 'b', 9, note('have-to-b'), () => undefined);
  clock.runUntil(t0 + 10_000);
  assert.ok((at['have-to-c'] as number) < 1, `have to c arrived at ${at['have-to-c']} ms`);
  assert.equal(order.at(-1), 'have-to-b', 'behind the blocks on its own link');
  assert.ok((at['block9'] as number) >= (10 * 16_384 * 1000) / 100_000 - 1e-6);
});

test('a lost message arrives a retransmission timeout late, and so does what follows it on the link', () => {
  const { clock, links, t0 } = model({ ...exact, loss: 1, rtoMinMs: 200 });
  links.addNode('a', { upBytesPerS: null, accessMs: 10 });
  links.addNode('b', { upBytesPerS: null, accessMs: 10 });
  const at: number[] = [];
  links.deliver('a', 'b', 100, () => at.push(clock.now() - t0), () => undefined);
  clock.runUntil(t0 + 1_000);
  assert.deepEqual(at, [220]);
  assert.equal(links.retransmitted, 1);
});

test('arrivals are rounded up to the receiver\'s event-loop turn', () => {
  const { clock, links, t0 } = model({ ...exact, turnMs: 5 });
  links.addNode('a', { upBytesPerS: null, accessMs: 0.5 });
  links.addNode('b', { upBytesPerS: null, accessMs: 0.6 });
  let at = -1;
  links.deliver('a', 'b', 100, () => (at = clock.now() - t0), () => undefined);
  clock.runUntil(t0 + 100);
  assert.equal(at, 5);
});
