import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../../src/control/ids.js';

test('ids typed on the command line never begin with "-" (an option to the parser), and keep their length and alphabet', () => {
  // One raw base64url id in 64 begins with '-': 20,000 draws would see about 300 of them.
  for (let i = 0; i < 20_000; i++) {
    const id = newId(12);
    assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{15}$/);
  }
  assert.equal(newId(16).length, 22);
});
