/**
 * QoE through a real tracker: heartbeats' reports reach the control link as
 * `qoe` frames; a report of a session that left is never relayed; a bad
 * report is ignored, never the heartbeat that carries it.
 */
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { TrackerToControl } from '../../src/protocol/control-link.js';
import type { QoeItem } from '../../src/protocol/qoe.js';
import { sampleQoe } from '../helpers/qoe-sample.js';
import { advanceUntil, infoHashOf, openChannel, peerIdOf, startRig, type ChannelClient, type Rig } from './helpers.js';

const H = infoHashOf('live').toString('hex');
type QoeFrame = Extract<TrackerToControl, { type: 'qoe' }>;
const isQoe = (m: TrackerToControl): m is QoeFrame => m.type === 'qoe';
/** What the tracker sends is QoeItems (the control server checks each). */
const itemsOf = (m: QoeFrame): QoeItem[] => m.items as QoeItem[];

describe('QoE through the tracker', () => {
  let rig: Rig | undefined;
  const open: ChannelClient[] = [];
  afterEach(async () => {
    for (const c of open.splice(0)) await c.close();
    await rig?.close();
    rig = undefined;
  });
  const channelFor = async (r: Rig, sid: string, n: number): Promise<ChannelClient> => {
    const c = await openChannel(r.wsUrl);
    open.push(c);
    const token = await r.token({ sid, prg: 'live', role: 'viewer' });
    c.send({ type: 'announce', id: `a-${sid}`, token, info_hash: H, peer_id: peerIdOf(n).toString('hex'), port: 8000 + n });
    assert.equal((await c.next())['type'], 'peers');
    return c;
  };
  const qoeFor = (r: Rig, sid: string): Promise<TrackerToControl> =>
    r.control.received.waitFor((m) => isQoe(m) && itemsOf(m).some((i) => i.sid === sid));

  it("relays a heartbeat's report to the control server, with its age", async () => {
    rig = await startRig();
    const r = rig;
    const c = await channelFor(r, 'v1', 1);
    c.send({ type: 'heartbeat', qoe: sampleQoe({ continuity: 0.97, peers: 6 }) });
    const frame = await advanceUntil(r.clock, qoeFor(r, 'v1'));
    assert.ok(isQoe(frame));
    assert.equal(frame.items.length, 1);
    const [item] = itemsOf(frame);
    assert.deepEqual(item?.qoe, sampleQoe({ continuity: 0.97, peers: 6 }));
    assert.ok(item && item.age_ms >= 0 && item.age_ms <= 1_000, `age ${item?.age_ms}`);
  });

  it('never relays the report of a session that has left', async () => {
    rig = await startRig();
    const r = rig;
    const gone = await channelFor(r, 'gone', 1);
    const stays = await channelFor(r, 'stays', 2);
    // In order on the channel: the report is held when `stopped` is handled, and dropped with the session.
    gone.send({ type: 'heartbeat', qoe: sampleQoe() });
    gone.send({ type: 'stopped', id: 'bye' });
    assert.deepEqual(await gone.next(), { type: 'ack', id: 'bye' });
    stays.send({ type: 'heartbeat', qoe: sampleQoe() });
    await advanceUntil(r.clock, qoeFor(r, 'stays'));
    const relayed = r.control.received.items.filter(isQoe).flatMap((m) => itemsOf(m).map((i) => i.sid));
    assert.deepEqual(relayed, ['stays']);
  });

  it('ignores a malformed report (and says so), while the heartbeat that carried it still counts', async () => {
    rig = await startRig({ heartbeatTimeoutMs: 2_000 });
    const r = rig;
    const c = await channelFor(r, 'v1', 1);
    // Three heartbeats with a bad report, 1.5 s apart: 4.5 s, past the 2 s timeout, kept alive by them alone.
    for (let i = 0; i < 3; i++) {
      c.send({ type: 'heartbeat', qoe: { ...sampleQoe(), continuity: 3, extra: i } });
      const err = await c.next();
      assert.equal(err['type'], 'error');
      assert.equal(err['code'], 'invalid_request');
      assert.match(String(err['message']), /heartbeat qoe ignored/);
      r.clock.advance(1_500);
      await r.control.flush();
    }
    assert.deepEqual(r.tracker.sessions(), ['v1']);
    assert.equal(r.control.received.items.filter(isQoe).length, 0, 'nothing relayed');
    c.send({ type: 'heartbeat', qoe: sampleQoe({ peers: 2 }) });
    const frame = await advanceUntil(r.clock, qoeFor(r, 'v1'));
    assert.ok(isQoe(frame));
    assert.equal(itemsOf(frame)[0]?.qoe.peers, 2);
  });

  it('sends no qoe frames to a control server whose welcome does not say it takes them (an older one would count them as bad frames)', async () => {
    rig = await startRig({ welcome: false });
    const r = rig;
    r.control.welcome = true;
    r.control.welcomeQoe = false;
    r.control.kick();
    await advanceUntil(r.clock, r.tracker.ready);
    const c = await channelFor(r, 'v1', 1);
    c.send({ type: 'heartbeat', qoe: sampleQoe() });
    // The join that follows the heartbeat's announce shows the link works; a few flush periods pass.
    await r.control.received.waitFor((m) => m.type === 'join' && m.sid === 'v1');
    for (let i = 0; i < 5; i++) {
      r.clock.advance(1_000);
      await r.control.flush();
    }
    assert.equal(r.control.received.items.filter(isQoe).length, 0);
  });
});
