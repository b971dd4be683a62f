import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { ManualClock } from '../../src/core/clock.js';
import { ClientError, InternalError } from '../../src/core/errors.js';
import { ControlOutage } from '../../src/core/outage.js';
import { ControlSession, RENEW_RETRY_MS, type RenewFn } from '../../src/peer/control-session.js';

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('control session renewals', () => {
  it('keeps retrying through a control outage past its token expiry, says so to the outage, and renews once the server is back', async () => {
    const clock = new ManualClock(1_000_000);
    const outage = new ControlOutage(clock);
    let up = true;
    const calls: number[] = [];
    const renew: RenewFn = async () => {
      calls.push(clock.now());
      if (!up) throw new InternalError('cannot reach control server at http://127.0.0.1:1');
      return { token: `t${calls.length}`, token_expires_at: clock.now() + 10_000 };
    };
    const s = new ControlSession('sid', 't0', 1_010_000, { clientKey: generateKeyPairSync('ed25519').privateKey, clock, renew, outage });
    const ended: ClientError[] = [];
    s.on('ended', (e) => ended.push(e));
    s.on('warning', () => undefined);
    s.start();
    clock.advance(5_000); // half the token's life: first renewal, fine
    await flush();
    assert.equal(s.token, 't1');
    up = false;
    // Down for three token lifetimes: retried every RENEW_RETRY_MS, never ended.
    for (let t = 0; t < 30_000; t += RENEW_RETRY_MS) {
      clock.advance(RENEW_RETRY_MS);
      await flush();
    }
    assert.deepEqual(ended, []);
    assert.equal(outage.since, 1_005_000, 'the outage counts from the last renewal that went through');
    assert.ok(calls.length >= 14);
    up = true;
    clock.advance(RENEW_RETRY_MS);
    await flush();
    assert.match(s.token, /^t\d+$/);
    assert.notEqual(s.token, 't1');
    assert.deepEqual(ended, []);
    s.stop();
  });

  it('ends when the server refuses the renewal (the session was ended)', async () => {
    const clock = new ManualClock(1_000_000);
    const renew: RenewFn = async () => {
      throw new ClientError('session_ended', 'session sid has ended (kicked)');
    };
    const s = new ControlSession('sid', 't0', 1_010_000, { clientKey: generateKeyPairSync('ed25519').privateKey, clock, renew });
    const ended: ClientError[] = [];
    s.on('ended', (e) => ended.push(e));
    s.start();
    clock.advance(5_000);
    await flush();
    assert.deepEqual(ended.map((e) => e.code), ['session_ended']);
  });
});
