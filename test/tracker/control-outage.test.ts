/**
 * A control outage longer than a token's life ends nobody on the tracker:
 * while its control link is down, tokens valid when it went down are honored
 * past their expiry (core/outage.ts), for announces as for the expiry sweep.
 * Once the control server is back, renewals have the settling time to arrive;
 * a session whose token is still not renewed then is ended as before.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../../src/core/config.js';
import { advanceUntil, infoHashOf, openChannel, peerIdOf, startRig, type ChannelClient, type Rig } from './helpers.js';

const H = infoHashOf('live').toString('hex');

describe('tracker through a control outage', () => {
  let rig: Rig;
  const open: ChannelClient[] = [];
  const announce = async (sid: string, n: number, token: string): Promise<Record<string, unknown>> => {
    const c = await openChannel(rig.wsUrl);
    open.push(c);
    c.send({ type: 'announce', id: `a-${sid}-${n}`, token, info_hash: H, peer_id: peerIdOf(n).toString('hex'), port: 8000 + n });
    return c.next();
  };
  const leaves = (): Array<{ sid: string; reason: string }> =>
    rig.control.received.items.flatMap((m) => (m.type === 'leave' ? [{ sid: m.sid, reason: m.reason }] : []));

  beforeEach(async () => {
    // Heartbeat timeouts far away: only token expiry is at stake here.
    rig = await startRig({ heartbeatTimeoutMs: 3_600_000 });
  });
  afterEach(async () => {
    for (const c of open.splice(0)) await c.close();
    await rig.close();
  });

  it('honors tokens valid when the link went down, until the control server is back and the settling time is over', async () => {
    const stale = await rig.token({ sid: 'stale', prg: 'live', ttlS: 5 });
    rig.clock.advance(6_000);
    assert.equal((await announce('src', 0, await rig.token({ sid: 'src', prg: 'live', role: 'source', ttlS: 5 })))['type'], 'peers');
    const renewer = open[0] as ChannelClient;
    assert.equal((await announce('lapse', 1, await rig.token({ sid: 'lapse', prg: 'live', ttlS: 5 })))['type'], 'peers');
    const lateToken = await rig.token({ sid: 'late', prg: 'live', ttlS: 5 });

    // The control server goes away: the link drops and its redials get no welcome.
    rig.control.welcome = false;
    const seen = rig.control.received.items.length;
    rig.control.kick();
    await advanceUntil(rig.clock, rig.control.received.waitFor((m) => m.type === 'hello', seen));
    // Three token lifetimes later, nobody has been expired...
    rig.clock.advance(15_000);
    assert.deepEqual(rig.tracker.sessions().sort(), ['lapse', 'src']);
    assert.deepEqual(leaves(), []);
    // ...a client valid at the outage's start that (re)connects now is let in; one that had expired before is not.
    assert.equal((await announce('late', 2, lateToken))['type'], 'peers');
    const refused = await announce('stale', 3, stale);
    assert.deepEqual([refused['type'], refused['code']], ['error', 'token_expired']);

    // The control server is back; `src` renews, `lapse` and `late` never do.
    rig.control.welcome = true;
    rig.control.kick();
    const before = rig.control.received.items.length;
    await advanceUntil(rig.clock, rig.control.received.waitFor((m) => m.type === 'hello', before));
    await rig.control.flush();
    renewer.send({ type: 'heartbeat', token: await rig.token({ sid: 'src', prg: 'live', role: 'source', ttlS: 60 }) });
    renewer.send('{"sync":true}');
    assert.equal((await renewer.next())['code'], 'invalid_request');
    rig.clock.advance(DEFAULTS.controlOutageSettleMs - 2_000);
    assert.deepEqual(rig.tracker.sessions().sort(), ['lapse', 'late', 'src'], 'still settling');
    rig.clock.advance(3_000);
    await rig.control.received.waitFor((m) => m.type === 'leave' && m.sid === 'late');
    assert.deepEqual(rig.tracker.sessions(), ['src']);
    assert.deepEqual(leaves().sort((a, b) => a.sid.localeCompare(b.sid)), [
      { sid: 'lapse', reason: 'expired' },
      { sid: 'late', reason: 'expired' },
    ]);
  });

  it('expires a token at its own time when the link never went down', async () => {
    assert.equal((await announce('src', 0, await rig.token({ sid: 'src', prg: 'live', role: 'source', ttlS: 5 })))['type'], 'peers');
    rig.clock.advance(4_000);
    assert.deepEqual(rig.tracker.sessions(), ['src']);
    rig.clock.advance(2_000);
    await rig.control.received.waitFor((m) => m.type === 'leave' && m.sid === 'src');
    assert.deepEqual(leaves(), [{ sid: 'src', reason: 'expired' }]);
  });
});
