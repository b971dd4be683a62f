import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { ControlOutage, STRICT_EXPIRY } from '../../src/core/outage.js';

describe('control outage', () => {
  it('honors nothing past expiry while the control server is reachable', () => {
    const clock = new ManualClock(1_000_000);
    const o = new ControlOutage(clock, 60_000, 5_000);
    o.contact();
    assert.equal(o.active, false);
    assert.equal(o.honoredUntil(1_000_500), 1_000_500);
    assert.equal(STRICT_EXPIRY.honoredUntil(7), 7);
  });

  it('honors tokens valid at the last contact until the grace ends, and no token that had expired before it', () => {
    const clock = new ManualClock(1_000_000);
    const o = new ControlOutage(clock, 60_000, 5_000);
    o.contact();
    clock.advance(3_000);
    o.unreachable(); // a renewal failed: the outage counts from the last contact
    assert.equal(o.since, 1_000_000);
    assert.equal(o.honoredUntil(1_010_000), 1_060_000);
    assert.equal(o.honoredUntil(999_999), 999_999, 'expired before the outage: not resurrected');
    assert.equal(o.honoredUntil(1_070_000), 1_070_000, 'a token outliving the grace keeps its own expiry');
    clock.advance(30_000);
    o.unreachable(); // more failures change nothing
    assert.equal(o.since, 1_000_000);
  });

  it('counts a link outage from when the link went down', () => {
    const clock = new ManualClock(2_000_000);
    const o = new ControlOutage(clock, 60_000, 5_000);
    o.contact();
    clock.advance(40_000);
    o.unreachable(clock.now());
    assert.equal(o.since, 2_040_000);
  });

  it('settles: once the server is back the grace ends settleMs later, then the outage is forgotten', () => {
    const clock = new ManualClock(1_000_000);
    const o = new ControlOutage(clock, 60_000, 5_000);
    o.contact();
    o.unreachable();
    clock.advance(20_000);
    o.contact(); // back
    assert.equal(o.honoredUntil(1_010_000), 1_025_000);
    clock.advance(4_999);
    assert.equal(o.active, true);
    clock.advance(1);
    assert.equal(o.active, false);
    assert.equal(o.honoredUntil(1_010_000), 1_010_000);
  });

  it('an outage during the settling keeps its first start', () => {
    const clock = new ManualClock(1_000_000);
    const o = new ControlOutage(clock, 60_000, 5_000);
    o.contact();
    o.unreachable();
    clock.advance(10_000);
    o.contact();
    clock.advance(1_000);
    o.unreachable();
    assert.equal(o.since, 1_000_000);
    assert.equal(o.honoredUntil(1_005_000), 1_060_000, 'down again: the settling no longer cuts the grace short');
  });
});
