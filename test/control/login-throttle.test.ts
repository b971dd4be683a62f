import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { LoginThrottle, addressKey, userKey, type ThrottleDecision } from '../../src/control/login-throttle.js';

const limits = { perUser: 5, perAddress: 20, windowMs: 60_000, maxKeys: 100 };
type Keys = Array<{ key: string; limit: number }>;

async function fail(t: LoginThrottle, keys: Keys): Promise<ThrottleDecision> {
  const d = await t.begin(keys);
  if (d.allowed) d.attempt.failed();
  return d;
}

describe('LoginThrottle', () => {
  it('refuses the 6th failure in a window with the seconds until the oldest leaves it, and frees the key after it', async () => {
    const clock = new ManualClock(0);
    const t = new LoginThrottle(clock, limits);
    const alice = [{ key: userKey('alice'), limit: 5 }];
    for (let i = 0; i < 5; i++) {
      assert.equal((await fail(t, alice)).allowed, true, `attempt ${i + 1}`);
      clock.advance(500);
    }
    // t = 2.5 s: the first failure (t = 0) leaves the window at 60 s.
    assert.deepEqual(await t.begin(alice), { allowed: false, retryAfterS: 58 });
    // Refusals add nothing: 15 more refused tries do not push the end of the lock out.
    for (let i = 0; i < 15; i++) assert.equal((await t.begin(alice)).allowed, false);
    clock.advance(57_499);
    assert.equal((await t.begin(alice)).allowed, false, 'still inside the window');
    clock.advance(1);
    assert.equal((await t.begin(alice)).allowed, true, 'a slot freed when the first failure left the window');
  });

  it('lets no more concurrent guesses through than the limit: the rest wait, then are refused', async () => {
    const t = new LoginThrottle(new ManualClock(0), limits);
    const alice = [{ key: userKey('alice'), limit: 5 }];
    let checks = 0;
    const results = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const d = await t.begin(alice);
        if (!d.allowed) return 'refused';
        checks++;
        await new Promise((r) => setImmediate(r));
        d.attempt.failed();
        return 'checked';
      }),
    );
    assert.equal(checks, 5);
    assert.equal(results.filter((r) => r === 'refused').length, 45);
  });

  it('serves concurrent right passwords in turn, none refused', async () => {
    const t = new LoginThrottle(new ManualClock(0), limits);
    const alice = [{ key: userKey('alice'), limit: 5 }];
    let inFlight = 0;
    let most = 0;
    const results = await Promise.all(
      Array.from({ length: 30 }, async () => {
        const d = await t.begin(alice);
        if (!d.allowed) return false;
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setImmediate(r));
        inFlight--;
        d.attempt.succeeded();
        return true;
      }),
    );
    assert.ok(results.every(Boolean));
    assert.equal(most, 5, 'at most the limit in flight at once');
    assert.equal(t.size, 0, 'successes leave nothing behind');
  });

  it('refuses when any of the keys is at its limit: one address guessing many users', async () => {
    const t = new LoginThrottle(new ManualClock(0), limits);
    const addr = { key: addressKey('10.0.0.9'), limit: 20 };
    for (let i = 0; i < 20; i++) assert.equal((await fail(t, [{ key: userKey(`u${i}`), limit: 5 }, addr])).allowed, true);
    assert.equal((await fail(t, [{ key: userKey('fresh'), limit: 5 }, addr])).allowed, false);
    assert.equal((await fail(t, [{ key: userKey('fresh'), limit: 5 }, { key: addressKey('10.0.0.10'), limit: 20 }])).allowed, true);
  });

  it('keeps at most maxKeys keys however many names a flood tries', async () => {
    const clock = new ManualClock(0);
    const t = new LoginThrottle(clock, { ...limits, maxKeys: 50 });
    for (let i = 0; i < 1_000; i++) {
      await fail(t, [{ key: userKey(`n${i}`), limit: 5 }]);
      clock.advance(1);
    }
    assert.ok(t.size <= 50, `${t.size} keys`);
  });

  it('drops expired keys before it drops live ones', async () => {
    const clock = new ManualClock(0);
    const t = new LoginThrottle(clock, { ...limits, maxKeys: 10 });
    // The victim's key is the oldest in the table, then 9 keys that will expire.
    await fail(t, [{ key: userKey('victim'), limit: 5 }]);
    for (let i = 0; i < 9; i++) await fail(t, [{ key: userKey(`old${i}`), limit: 5 }]);
    clock.advance(59_000);
    for (let i = 0; i < 4; i++) await fail(t, [{ key: userKey('victim'), limit: 5 }]);
    clock.advance(1_001);
    // The full table sweeps the expired keys and keeps the victim's live ones.
    for (let i = 0; i < 8; i++) await fail(t, [{ key: userKey(`new${i}`), limit: 5 }]);
    assert.equal((await t.begin([{ key: userKey('victim'), limit: 4 }])).allowed, false);
  });

  it('keys an over-long user name by its hash, so a key stays small', () => {
    const long = 'x'.repeat(2_000);
    assert.ok(userKey(long).length < 64);
    assert.equal(userKey(long), userKey('x'.repeat(2_000)));
    assert.notEqual(userKey(long), userKey(`${long}y`));
    assert.equal(userKey('alice'), 'user:alice');
  });

  it('keys IPv6 addresses by /64 and IPv4-mapped ones as IPv4', () => {
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), addressKey('2001:db8:1:2::ffff'));
    assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'));
    assert.equal(addressKey('::ffff:127.0.0.1'), addressKey('127.0.0.1'));
    assert.equal(addressKey('::1'), 'addr:0:0:0:0::/64');
  });
});
