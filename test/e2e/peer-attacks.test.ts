/**
 * The peer wire attacked as a party with no account would, against real
 * viewers and a real source on loopback: harvesting tokens by connecting,
 * relaying two viewers' tokens to each other to make them sign, and tapping
 * the traffic between two peers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { startLocalSystem, type LocalSystem } from '../../src/cli/local-system.js';
import { rawPublicKey } from '../../src/core/piece.js';
import type { Broadcaster } from '../../src/broadcast/broadcaster.js';
import { joinSwarm } from '../../src/peer/join-swarm.js';
import type { SecureChannel } from '../../src/peer/secure-channel.js';
import type { Viewer } from '../../src/peer/viewer.js';
import { requestProgram } from '../../src/protocol/control-api.js';
import { decodeLiveMessage, encodeLiveHandshake, signPeerAuth } from '../../src/protocol/live-extension.js';
import { systemClock } from '../../src/protocol/system-clock.js';
import { Wire } from '../../src/protocol/wire.js';
import { dialSecure } from '../peer/secure-pair.js';
import { waitFor, within } from './helpers.js';

let sys: LocalSystem;
let source: Broadcaster;
let alice: Viewer;
let bob: Viewer;
let infoHash: Buffer;

before(async () => {
  sys = await startLocalSystem({ adminPassword: 'peer-attacks-admin' });
  source = await sys.broadcast('ch1', { kind: 'test-pattern', bitrateBps: 2_000_000 });
  alice = (await sys.viewer('alice', 'ch1', { http: false })).viewer;
  bob = (await sys.viewer('bob', 'ch1', { http: false })).viewer;
  infoHash = Buffer.from(source.metadata.info_hash, 'hex');
  await waitFor('alice and bob playing', () => alice.stats().played > 5 && bob.stats().played > 5, 20_000);
});

after(async () => {
  await sys.stop();
});

/** An attacker's BitTorrent wire inside a channel it opened: everything it decrypts is kept. */
function drive(ch: SecureChannel): { w: Wire; bytes: () => Buffer; closed: Promise<void>; events: string[]; leaving: string[] } {
  const w = new Wire();
  const chunks: Buffer[] = [];
  const events: string[] = [];
  const leaving: string[] = [];
  w.on('data', (b) => ch.stream.write(b));
  w.on('error', (err) => events.push(`error: ${err.message}`));
  ch.stream.on('data', (b: Buffer) => {
    chunks.push(Buffer.from(b));
    w.receive(b);
  });
  for (const e of ['handshake', 'extended-handshake', 'piece', 'unchoke', 'have', 'bitfield'] as const) w.on(e, () => events.push(e));
  w.on('extended', (_id, payload) => {
    const m = decodeLiveMessage(payload);
    if (m?.t === 'leaving') leaving.push(m.reason);
  });
  const closed = new Promise<void>((resolve) => ch.stream.on('close', () => resolve()));
  return { w, bytes: () => Buffer.concat(chunks), closed, events, leaving };
}

function assertNoToken(bytes: Buffer, tokens: string[], what: string, opts: { anyJwt: boolean }): void {
  assert.equal(bytes.includes('gc_token'), false, `${what}: no extended handshake with a token`);
  // Every access token is a JWT, whose header starts `eyJ` ('{"' in base64url). Only for
  // small plain captures: three given bytes turn up in 600 kB of ciphertext 3% of the time.
  if (opts.anyJwt) assert.equal(bytes.includes('eyJ'), false, `${what}: no JWT`);
  for (const t of tokens) assert.equal(bytes.includes(t), false, `${what}: not this token`);
}

/** Five MPEG-TS sync bytes 188 apart: plain TS on the wire. */
function hasTsRun(buf: Buffer, run = 5): boolean {
  for (let i = 0; i + 188 * (run - 1) < buf.length; i++) {
    let k = 0;
    while (k < run && buf[i + 188 * k] === 0x47) k++;
    if (k === run) return true;
  }
  return false;
}

function portOf(v: { swarm: { links: { port: number | null } } }): number {
  const p = v.swarm.links.port;
  assert.ok(p !== null);
  return p;
}

describe('harvest', { timeout: 30_000 }, () => {
  it("a stranger who connects to a viewer's and the source's peer ports, completes every handshake it can and waits, receives no token", async () => {
    const targets = [
      { name: 'viewer', port: portOf(alice) },
      { name: 'source', port: portOf(source) },
    ];
    await Promise.all(
      targets.map(async ({ name, port }) => {
        // As far as a stranger gets: the Noise handshake with its own key, then the 68-byte BitTorrent handshake.
        const ch = await dialSecure(port, generateKeyPairSync('ed25519').privateKey);
        const a = drive(ch);
        a.w.handshake(infoHash, randomBytes(20));
        // Then it waits until the peer gives up on it.
        await within(`${name} closes the stranger`, a.closed, 15_000);
        assert.ok(a.events.includes('handshake'), `${name} answered the BitTorrent handshake`);
        assert.ok(!a.events.includes('extended-handshake'), `${name} sent no extended handshake`);
        assertNoToken(a.bytes(), [alice.session.token], name, { anyJwt: true });
      }),
    );
  });

  it('a stock client speaking plain BitTorrent gets nothing but Noise bytes, and no token', async () => {
    const socket = net.connect(portOf(alice), '127.0.0.1');
    const got: Buffer[] = [];
    socket.on('data', (b: Buffer) => got.push(b));
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    const w = new Wire();
    w.on('data', (b) => socket.write(b));
    w.handshake(infoHash, randomBytes(20), { extended: true });
    await within('the viewer drops the plain-text client', once(socket, 'close'), 15_000);
    const bytes = Buffer.concat(got);
    assert.equal(bytes.includes('BitTorrent protocol'), false);
    assertNoToken(bytes, [alice.session.token], 'plain client', { anyJwt: true });
  });
});

describe('relay / signing oracle', { timeout: 30_000 }, () => {
  it("a party with no account shows alice bob's token and bob alice's, relays whatever they send, and gets refused with no piece", async () => {
    const mallory = generateKeyPairSync('ed25519').privateKey;
    const [toAlice, toBob] = await Promise.all([dialSecure(portOf(alice), mallory), dialSecure(portOf(bob), mallory)]);
    const a = drive(toAlice);
    const b = drive(toBob);
    // Whatever one victim says past its BitTorrent handshake goes to the other, as is.
    a.w.on('extended-handshake', (d) => b.w.extendedHandshake(d));
    b.w.on('extended-handshake', (d) => a.w.extendedHandshake(d));
    a.w.on('extended', (id, p) => b.w.extended(id, p));
    b.w.on('extended', (id, p) => a.w.extended(id, p));
    const malloryPeerId = randomBytes(20);
    const present = (d: ReturnType<typeof drive>, ch: SecureChannel, token: string, victimPeerId: Buffer, key: KeyObject): void => {
      // Mallory's best proof: her own key over the true transcript of this channel.
      const auth = signPeerAuth(key, {
        handshakeHash: ch.binding.handshakeHash,
        infoHash,
        signer: 'initiator',
        initiatorPeerId: malloryPeerId,
        responderPeerId: victimPeerId,
        initiatorSid: sidOf(token),
        responderSid: null,
      });
      d.w.extendedHandshake(encodeLiveHandshake({ token, role: 'viewer', auth }));
      d.w.interested();
      d.w.request(0, 0, 16_384);
    };
    a.w.on('handshake', (hs) => present(a, toAlice, bob.session.token, hs.peerId, mallory));
    b.w.on('handshake', (hs) => present(b, toBob, alice.session.token, hs.peerId, mallory));
    a.w.handshake(infoHash, malloryPeerId);
    b.w.handshake(infoHash, malloryPeerId);
    await within('both victims close on mallory', Promise.all([a.closed, b.closed]), 15_000);
    for (const [name, d] of [['alice', a], ['bob', b]] as const) {
      assert.ok(!d.events.includes('piece'), `${name} sent no piece`);
      assert.ok(!d.events.includes('unchoke'), `${name} never unchoked`);
      assert.ok(!d.events.includes('extended-handshake'), `${name} sent no extended handshake, so no proof to relay`);
      assertNoToken(d.bytes(), [alice.session.token, bob.session.token], name, { anyJwt: true });
      assert.match(d.leaving.join('|'), /refused: proof_invalid/, `${name} said why`);
    }
  });
});

describe('passive tap', { timeout: 40_000 }, () => {
  it('a TCP proxy recording both directions between two peers sees no token, no gc_token and no MPEG-TS', async () => {
    // The tap: everything between dave and alice passes through it and is recorded.
    const captured: Buffer[] = [];
    const tap = net.createServer((inbound) => {
      const outbound = net.connect(portOf(alice), '127.0.0.1');
      inbound.on('data', (d: Buffer) => captured.push(Buffer.from(d)));
      outbound.on('data', (d: Buffer) => captured.push(Buffer.from(d)));
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
    });
    tap.listen(0, '127.0.0.1');
    await once(tap, 'listening');
    // Dave: an admitted viewer whose only peer is alice, reached through the tap.
    await sys.admin.addUser('dave', 'pw-dave');
    await sys.admin.grant('dave', 'ch1', null);
    const keys = generateKeyPairSync('ed25519');
    const admission = await requestProgram(sys.controlUrl, { program: 'ch1', user: 'dave', password: 'pw-dave', clientKey: rawPublicKey(keys.publicKey) });
    const dave = await joinSwarm({
      controlUrl: sys.controlUrl,
      admission,
      clientKey: keys.privateKey,
      role: 'viewer',
      peerId: Buffer.concat([Buffer.from('-GC0001-'), randomBytes(12)]),
      clock: systemClock,
      host: '127.0.0.1',
      peerPort: 0,
      swarm: { maxPeers: 4, uploadSlots: 4, uploadRate: null },
    });
    try {
      dave.swarm.connect([{ sid: alice.sid, peer_id: '00'.repeat(20), ip: '127.0.0.1', port: (tap.address() as AddressInfo).port, role: 'viewer' }]);
      const edge = await waitFor('dave hears of the live edge', () => dave.swarm.picker.liveEdge, 10_000);
      dave.swarm.setPlayhead(Math.max(0, edge - 4));
      // Some seconds of peer traffic: at 2 Mbit/s, 600 kB is over 2 s of stream.
      await waitFor('dave receives pieces through the tap', () => dave.swarm.bytesFromPeers >= 600_000, 20_000);
      const bytes = Buffer.concat(captured);
      assert.ok(bytes.length >= 600_000, `the tap saw ${bytes.length} bytes`);
      assertNoToken(bytes, [alice.session.token, admission.token], 'tap', { anyJwt: false });
      assert.equal(hasTsRun(bytes), false, 'no run of TS sync bytes');
      // The detector does find TS where there is some: the pieces dave decrypted.
      const plain = dave.swarm.window.get(edge)?.bytes;
      assert.ok(plain && hasTsRun(plain), 'a decrypted piece is plain MPEG-TS');
    } finally {
      await dave.swarm.close();
      dave.tracker.close();
      dave.session.stop();
      await new Promise<void>((resolve) => tap.close(() => resolve()));
    }
  });
});

function sidOf(token: string): string {
  const body = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sid: string };
  return body.sid;
}
