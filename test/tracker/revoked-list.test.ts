/**
 * Revocations reach peers that were not connected when they happened: every
 * `peers` answer on a channel lists the program's recent revocations while
 * the revoked session's token may still be valid, and the real TrackerClient
 * turns the list into `revoked` events before its announce resolves.
 */
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { TrackerClient } from '../../src/peer/tracker-client.js';
import { TOKEN_SKEW_MS } from '../../src/tracker/revocations.js';
import { infoHashOf, keyOf, openChannel, peerIdOf, startRig, type ChannelClient, type Rig } from './helpers.js';

type Msg = Record<string, unknown>;

describe('revocations in the peers answer', () => {
  let rig: Rig;
  const open: ChannelClient[] = [];
  const clients: TrackerClient[] = [];

  /** A TrackerClient for program `live` as session `sid`, signing with the key of `keyName`. */
  function liveClient(token: string, sid: string, keyName: string): TrackerClient {
    const client = new TrackerClient({
      wsUrl: rig.wsUrl,
      infoHash: infoHashOf('live').toString('hex'),
      peerId: peerIdOf(9).toString('hex'),
      port: 8009,
      token: () => token,
      sid,
      clientKey: keyOf(keyName),
      clock: rig.clock,
    });
    clients.push(client);
    return client;
  }
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const c of open.splice(0)) await c.close();
    await rig.close();
  });

  const join = async (sid: string, n: number, program = 'live', ttlS = 300): Promise<Msg> => {
    const c = await openChannel(rig.wsUrl);
    open.push(c);
    const token = await rig.token({ sid, prg: program, ttlS });
    c.send({ type: 'announce', id: `a-${sid}`, token, info_hash: infoHashOf(program).toString('hex'), peer_id: peerIdOf(n).toString('hex'), port: 8000 + n });
    const reply = await c.messages.waitFor((m) => m['id'] === `a-${sid}`);
    assert.equal(reply['type'], 'peers', JSON.stringify(reply));
    return reply;
  };
  const kick = async (sid: string, id: string): Promise<void> => {
    rig.control.send({ type: 'disconnect', id, sid, reason: 'operator' });
    await rig.control.received.waitFor((m) => m.type === 'ack' && m.id === id);
  };

  it("a peer that joins after a kick is told of it; another program's peer is not; the entry lapses with the token's lifetime", async () => {
    rig = await startRig({ heartbeatTimeoutMs: 3_600_000 });
    await join('kicked', 1, 'live', 120);
    await join('elsewhere', 2, 'other');
    await kick('kicked', 'dc-1');
    const late = await join('late', 3);
    assert.deepEqual(late['revoked'], ['kicked']);
    assert.ok(!(late['peers'] as Msg[]).some((p) => p['sid'] === 'kicked'), 'never listed as a peer');
    const otherProgram = await join('other-late', 4, 'other');
    assert.equal(otherProgram['revoked'], undefined);
    // Listed while a token issued at the kick could be valid (its lifetime, 120 s, plus skew)...
    rig.clock.advance(120_000 + TOKEN_SKEW_MS - 1);
    assert.deepEqual((await join('later', 5))['revoked'], ['kicked']);
    // ...and not after.
    rig.clock.advance(1);
    assert.equal((await join('latest', 6))['revoked'], undefined);
  });

  it('TrackerClient emits the listed revocations before its start() resolves', async () => {
    rig = await startRig({ heartbeatTimeoutMs: 3_600_000 });
    await join('kicked', 1);
    await kick('kicked', 'dc-2');
    const token = await rig.token({ sid: 'fresh', prg: 'live' });
    const client = liveClient(token, 'fresh', 'fresh');
    const revoked: string[] = [];
    client.on('revoked', ({ sid }) => revoked.push(sid));
    let seenAtResolve: string[] = [];
    await client.start().then(() => {
      seenAtResolve = [...revoked];
    });
    assert.deepEqual(seenAtResolve, ['kicked']);
    // A second answer listing it again is not a second event.
    await client.announce();
    assert.deepEqual(revoked, ['kicked']);
  });

  it('TrackerClient with the wrong key is refused by the tracker', async () => {
    rig = await startRig();
    const token = await rig.token({ sid: 'mine', prg: 'live' });
    const client = liveClient(token, 'mine', 'someone-else');
    await assert.rejects(client.start(), (err: Error & { code?: string }) => err.code === 'proof_invalid');
  });
});
