/**
 * A client that comes back to a tracker which still holds it (its channel
 * there broke, it moved to another tracker, and returned before this one
 * timed it out) is reported joined again, so the control server, which
 * holds it on the other tracker meanwhile, sends its kicks here; a
 * re-announce on the same channel reports nothing new.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TrackerToControl } from '../../src/protocol/control-link.js';
import { infoHashOf, openChannel, peerIdOf, startRig, type Rig } from '../tracker/helpers.js';
import { within } from '../e2e/helpers.js';

const H = infoHashOf('comeback').toString('hex');

describe('a client back on a tracker that still holds it', () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig();
  });
  after(async () => {
    await rig.close();
  });

  const joinsOf = (sid: string): number => rig.control.received.items.filter((m: TrackerToControl) => m.type === 'join' && m.sid === sid).length;

  it('is reported joined again on its new channel, not on a re-announce of the same channel', async () => {
    const announce = async (id: string) => ({ type: 'announce', id, token: await rig.token({ sid: 'back', prg: 'comeback' }), info_hash: H, peer_id: peerIdOf(1).toString('hex'), port: 8001 });
    const first = await openChannel(rig.wsUrl);
    first.send(await announce('a1'));
    assert.equal((await first.next())['type'], 'peers');
    await rig.control.received.waitFor((m) => m.type === 'join' && m.sid === 'back');

    // Its channel breaks; the tracker keeps it until its heartbeat timeout. It comes back before that.
    await first.close();
    const second = await openChannel(rig.wsUrl);
    second.send(await announce('a2'));
    assert.equal((await second.next())['type'], 'peers');
    await within('a second join', rig.control.received.waitFor((m) => m.type === 'join' && m.sid === 'back' && joinsOf('back') === 2), 5_000);
    assert.deepEqual(rig.tracker.sessions(), ['back'], 'still one session');

    second.send(await announce('a3'));
    assert.equal((await second.next())['type'], 'peers');
    await rig.control.flush();
    assert.equal(joinsOf('back'), 2, 'a re-announce on the same channel is no new join');
    await second.close();
  });
});
