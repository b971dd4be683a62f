/**
 * The dialer's side of the peer wire against a party with no account that
 * answers at a listed peer's address (a port it took over after the peer
 * left, or a machine on the path): the tracker names each listed session's
 * client key, and a viewer sends its token only to the end of the Noise
 * channel that proved that key.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { startLocalSystem, type LocalSystem } from '../../src/cli/local-system.js';
import type { Broadcaster } from '../../src/broadcast/broadcaster.js';
import { noiseKeyPair, openSecureChannel } from '../../src/peer/secure-channel.js';
import type { Viewer } from '../../src/peer/viewer.js';
import { systemClock } from '../../src/protocol/system-clock.js';
import { Wire } from '../../src/protocol/wire.js';
import { waitFor, within } from './helpers.js';

let sys: LocalSystem;
let source: Broadcaster;
let alice: Viewer;
let bob: Viewer;

/** The `ckey` claim of a token (read, not verified: it is the test's own). */
function ckeyOf(token: string): string {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { ckey: string };
  return payload.ckey;
}

before(async () => {
  sys = await startLocalSystem({ adminPassword: 'peer-impostor-admin' });
  source = await sys.broadcast('ch1', { kind: 'test-pattern', bitrateBps: 1_000_000 });
  alice = (await sys.viewer('alice', 'ch1', { http: false })).viewer;
  bob = (await sys.viewer('bob', 'ch1', { http: false })).viewer;
  await waitFor('alice and bob playing', () => alice.stats().played > 2 && bob.stats().played > 2, 20_000);
});

after(async () => {
  await sys.stop();
});

describe('a listed address answered by another key', { timeout: 30_000 }, () => {
  it("the tracker's peers answer names every listed session's client key", async () => {
    const peers = await alice.tracker.announce();
    const byBob = peers.find((p) => p.sid === bob.session.sid);
    const bySource = peers.find((p) => p.role === 'source');
    assert.equal(byBob?.key, ckeyOf(bob.session.token));
    assert.ok(bySource?.key, 'the source is listed with its key too');
  });

  it('a viewer dialing it completes Noise with the stranger and sends no token', async () => {
    const infoHash = Buffer.from(source.metadata.info_hash, 'hex');
    const seen: string[] = [];
    const got: Buffer[] = [];
    let closed!: () => void;
    const done = new Promise<void>((resolve) => (closed = resolve));
    // The stranger at the address: its own Noise key, and it plays along as far as it can.
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      openSecureChannel(socket, { initiator: false, keyPair: noiseKeyPair(generateKeyPairSync('ed25519').privateKey), clock: systemClock, timeoutMs: 5_000 }).then(
        (ch) => {
          seen.push('noise');
          const w = new Wire();
          w.on('data', (b) => ch.stream.write(b));
          w.on('error', () => undefined);
          w.on('handshake', () => {
            seen.push('handshake');
            w.handshake(infoHash, randomBytes(20), { extended: true });
          });
          w.on('extended-handshake', () => seen.push('extended-handshake'));
          ch.stream.on('data', (b: Buffer) => {
            got.push(Buffer.from(b));
            w.receive(b);
          });
          ch.stream.on('close', () => closed());
        },
        () => closed(),
      );
    });
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const port = (server.address() as AddressInfo).port;
      // The tracker listed a session (bob's key) at this address; the stranger answers there.
      alice.swarm.connect([{ sid: 'squatted-session', peer_id: randomBytes(20).toString('hex'), ip: '127.0.0.1', port, role: 'viewer', key: ckeyOf(bob.session.token) }]);
      await within('alice drops the stranger', done, 15_000);
      assert.ok(seen.includes('noise'), 'the Noise handshake ran');
      assert.ok(!seen.includes('extended-handshake'), 'alice sent no extended handshake');
      const bytes = Buffer.concat(got);
      assert.equal(bytes.includes('gc_token'), false);
      assert.equal(bytes.includes(alice.session.token), false, "not alice's token");
    } finally {
      server.close();
    }
  });
});
