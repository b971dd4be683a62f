import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InboundBudget } from '../../src/peer/secure-budget.js';

test('an address past its share is refused while others still get in, and a place given back is free again', () => {
  const b = new InboundBudget({ max: 5, maxPerAddress: 2 });
  const a1 = b.admit('10.0.0.1');
  const a2 = b.admit('10.0.0.1');
  assert.ok(a1 && a2);
  assert.equal(b.admit('10.0.0.1'), null, 'third socket from one address');
  assert.ok(b.admit('10.0.0.2'), 'another address still gets in');
  a1();
  a1();
  assert.equal(b.pending, 2, 'giving a place back twice counts once');
  assert.ok(b.admit('10.0.0.1'));
});

test('the total caps sockets from many addresses', () => {
  const b = new InboundBudget({ max: 3, maxPerAddress: 2 });
  const held = ['a', 'b', 'c'].map((addr) => b.admit(addr));
  assert.ok(held.every((r) => r !== null));
  assert.equal(b.admit('d'), null);
  held[0]?.();
  assert.ok(b.admit('d'));
  assert.equal(b.pending, 3);
});

test('IPv6 addresses of one /64 share one per-address share: rotating the interface id gets no more places', () => {
  // One host usually holds a whole /64: counted per /128, it could fill the total budget alone.
  const b = new InboundBudget({ max: 64, maxPerAddress: 8 });
  let admitted = 0;
  for (let i = 1; i <= 64; i++) if (b.admit(`2001:db8:1:2::${i.toString(16)}`)) admitted++;
  assert.equal(admitted, 8);
  assert.equal(b.admit('2001:DB8:1:2:abcd:ef01:2345:6789'), null, 'the same /64 written otherwise');
  assert.ok(b.admit('2001:db8:1:3::1'), 'another /64 still gets in');
  // An IPv4 client seen through a dual-stack socket is the same client as seen through an IPv4 one.
  const v4 = new InboundBudget({ max: 64, maxPerAddress: 1 });
  assert.ok(v4.admit('::ffff:10.0.0.1'));
  assert.equal(v4.admit('10.0.0.1'), null);
});
