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
