/**
 * A kicked client that comes back to a tracker that no longer holds it (the
 * tracker restarted while the kick was under way, or the client's channel
 * was lost) hears its disconnect again, not a bare refusal, so it ends as
 * kicked (step C, exit code 4). Only a channel that proved the session's key
 * hears it: a harvested token learns nothing of the kick.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { infoHashOf, openChannel, peerIdOf, startRig, type ChannelClient, type Rig } from './helpers.js';

const H = infoHashOf('live').toString('hex');

describe('a kicked client coming back', () => {
  let rig: Rig;
  const open: ChannelClient[] = [];
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(async () => {
    for (const c of open.splice(0)) await c.close();
    await rig.close();
  });

  it('hears the disconnect again on a channel that proved its key, and only there', async () => {
    const token = await rig.token({ sid: 'gone', prg: 'live' });
    // The control server resends a kick to a tracker that does not hold the session: answered with a leave at once.
    rig.control.send({ type: 'disconnect', id: 'd-1', sid: 'gone', reason: 'payment failed' });
    await rig.control.received.waitFor((m) => m.type === 'leave' && m.sid === 'gone');

    const honest = await openChannel(rig.wsUrl);
    open.push(honest);
    honest.send({ type: 'announce', id: 'a1', token, info_hash: H, peer_id: peerIdOf(1).toString('hex'), port: 8001 });
    assert.deepEqual(await honest.next(), { type: 'disconnect', id: 'd-1', reason: 'payment failed' });
    const refused = await honest.next();
    assert.deepEqual([refused['type'], refused['code']], ['error', 'token_revoked']);

    const thief = await openChannel(rig.wsUrl, { sign: false });
    open.push(thief);
    thief.send({ type: 'announce', id: 'a2', token, info_hash: H, peer_id: peerIdOf(2).toString('hex'), port: 8002 });
    const answer = await thief.next();
    assert.equal(answer['type'], 'error');
    assert.notEqual(answer['code'], 'token_revoked');
    assert.equal(thief.messages.items.some((m) => m['type'] === 'disconnect'), false);
  });
});
