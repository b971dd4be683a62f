/** The in-memory transport: the PeerLink contract over modelled links. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { MemoryNetwork, type DeliveryModel } from '../../src/peer/memory-transport.js';
import type { PeerLink, TransportHost } from '../../src/peer/transport.js';

interface Host extends TransportHost {
  links: PeerLink[];
  refuse: Set<string>;
  full: boolean;
}

function host(): Host {
  const h: Host = {
    links: [],
    refuse: new Set(),
    full: false,
    link: (l) => h.links.push(l),
    canAccept: () => !h.full,
    refused: (sid) => h.refuse.has(sid),
    log: () => undefined,
  };
  return h;
}

async function pair(net: MemoryNetwork, clock: ManualClock): Promise<{ a: PeerLink; b: PeerLink }> {
  const ha = host();
  const hb = host();
  const ta = net.transport({ sid: 'a', user: 'ua', role: 'viewer' });
  const tb = net.transport({ sid: 'b', user: 'ub', role: 'viewer' });
  await ta.listen(ha);
  await tb.listen(hb);
  let settled = 0;
  ta.dial(tb.listed, () => settled++);
  // The opening takes a round trip of the delivery model.
  clock.advance(100);
  assert.equal(settled, 1);
  const [a] = ha.links;
  const [b] = hb.links;
  assert.ok(a && b);
  return { a, b };
}

test('messages arrive after the sender returns, in order, as the events that mirror the sends', async () => {
  const clock = new ManualClock();
  const net = new MemoryNetwork({ clock });
  const { a, b } = await pair(net, clock);
  assert.equal(a.remote.sid, 'b');
  assert.equal(b.remote.sid, 'a');
  const seen: string[] = [];
  b.on('have', (seq) => seen.push(`have ${seq}`));
  b.on('unchoke', () => seen.push(`unchoke ${b.remoteChoking}`));
  b.on('request', (r) => seen.push(`request ${r.seq}/${r.begin}/${r.length}`));
  b.on('piece', (p) => seen.push(`piece ${p.seq} ${p.block.length}`));
  b.on('window', (w) => seen.push(`window ${w.base} ${w.bits.length}`));
  a.have(7);
  a.unchoke();
  a.request(7, 0, 16_384);
  a.sendPiece(7, 0, Buffer.alloc(100));
  a.sendWindow(5, Buffer.from([0xff]));
  assert.deepEqual(seen, [], 'nothing arrives inside the sender');
  clock.advance(0);
  assert.deepEqual(seen, ['have 7', 'unchoke false', 'request 7/0/16384', 'piece 7 100', 'window 5 1']);
  assert.equal(a.amChoking, false);
});

test('leaving reaches the other end before its close, and nothing arrives after a close', async () => {
  const clock = new ManualClock();
  const net = new MemoryNetwork({ clock });
  const { a, b } = await pair(net, clock);
  const seen: string[] = [];
  b.on('leaving', (r) => seen.push(`leaving ${r}`));
  b.on('close', (r) => seen.push(`close ${r}`));
  a.leaving('bye');
  a.close('done');
  assert.equal(a.closed, true);
  assert.equal(a.have(1), false, 'a closed link sends nothing');
  clock.advance(0);
  assert.deepEqual(seen, ['leaving bye', 'close peer left: bye']);
  assert.equal(b.closed, true);
});

test('a full send buffer makes sends return false until the model has sent the bytes; then drain', async () => {
  const clock = new ManualClock();
  // 100 kB/s upload per sender, FIFO: a message leaves when the ones before it have.
  const busyUntil = new Map<string, number>();
  const deliver: DeliveryModel = (from, _to, bytes, arrive, sent) => {
    const start = Math.max(clock.now(), busyUntil.get(from) ?? 0);
    const done = start + (bytes / 100_000) * 1000;
    busyUntil.set(from, done);
    clock.setTimeout(() => {
      sent();
      arrive();
    }, done - clock.now());
  };
  const net = new MemoryNetwork({ clock, deliver, sendBufferBytes: 40_000 });
  const { a, b } = await pair(net, clock);
  clock.advance(100);
  let arrived = 0;
  b.on('piece', () => arrived++);
  let drains = 0;
  a.on('drain', () => drains++);
  const block = Buffer.alloc(16_384);
  assert.equal(a.sendPiece(1, 0, block), true);
  assert.equal(a.sendPiece(1, 16_384, block), true);
  assert.equal(a.sendPiece(2, 0, block), false, 'past 40 kB unsent');
  clock.advance(100);
  assert.equal(arrived, 0, 'the first block takes 164 ms at 100 kB/s');
  clock.advance(250);
  assert.equal(arrived, 2);
  assert.equal(drains, 1, 'drain once the buffer is under its mark');
  clock.advance(200);
  assert.equal(arrived, 3);
});

test('a dial is refused by a full or refusing acceptor, and by a wrong session at the address; each settles once with no link', async () => {
  const clock = new ManualClock();
  const net = new MemoryNetwork({ clock });
  const ha = host();
  const hb = host();
  const ta = net.transport({ sid: 'a', user: 'ua', role: 'viewer' });
  const tb = net.transport({ sid: 'b', user: 'ub', role: 'viewer' });
  await ta.listen(ha);
  await tb.listen(hb);
  let settled = 0;
  hb.full = true;
  ta.dial(tb.listed, () => settled++);
  clock.advance(0);
  hb.full = false;
  hb.refuse.add('a');
  ta.dial(tb.listed, () => settled++);
  clock.advance(0);
  hb.refuse.clear();
  ta.dial({ ...tb.listed, sid: 'someone-else' }, () => settled++);
  ta.dial({ ...tb.listed, port: 1 }, () => settled++);
  clock.advance(0);
  assert.equal(settled, 4);
  assert.equal(ha.links.length + hb.links.length, 0);
  // The dialer refuses the acceptor too (revoked meanwhile): both ends close.
  ha.refuse.add('b');
  ta.dial(tb.listed, () => settled++);
  clock.advance(0);
  assert.equal(settled, 5);
  assert.equal(ha.links.length, 0);
  assert.equal(hb.links[0]?.closed, true);
});

test("what the acceptor sends as soon as it takes the link arrives after the dialer's link is up", async () => {
  const clock = new ManualClock();
  const net = new MemoryNetwork({ clock });
  const seen: string[] = [];
  const ha = host();
  ha.link = (l) => {
    ha.links.push(l);
    seen.push('dialer up');
    l.on('window', (w) => seen.push(`window ${w.base}`));
  };
  const hb = host();
  hb.link = (l) => {
    hb.links.push(l);
    l.sendWindow(9, Buffer.alloc(1));
  };
  const ta = net.transport({ sid: 'a', user: 'ua', role: 'viewer' });
  const tb = net.transport({ sid: 'b', user: 'ub', role: 'viewer' });
  await ta.listen(ha);
  await tb.listen(hb);
  ta.dial(tb.listed, () => undefined);
  clock.advance(0);
  assert.deepEqual(seen, ['dialer up', 'window 9']);
});
