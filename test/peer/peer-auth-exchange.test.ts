/**
 * The token exchange inside the encrypted channel, attacked: a stranger who
 * only connects harvests nothing, a proof replayed on another channel fails,
 * and an established connection ends at the remote's token expiry unless a
 * renewed token for the same session and key arrives first.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { Duplex } from 'node:stream';
import { ManualClock, type Clock } from '../../src/core/clock.js';
import { ControlOutage, type OutageView } from '../../src/core/outage.js';
import { ClientError } from '../../src/core/errors.js';
import { rawPublicKey } from '../../src/core/piece.js';
import { PeerConnection } from '../../src/peer/peer-connection.js';
import type { ChannelBinding, PeerSocket, SecureChannel } from '../../src/peer/secure-channel.js';
import { decodeLiveHandshake, encodeLiveHandshake, type LiveHandshake } from '../../src/protocol/live-extension.js';
import { systemClock } from '../../src/protocol/system-clock.js';
import { createTokenVerifier, signAccessToken, type TokenVerifier } from '../../src/protocol/token.js';
import type { BDict } from '../../src/protocol/wire-bencode.js';
import { Wire } from '../../src/protocol/wire.js';
import { securePair } from './secure-pair.js';

const PROGRAM = 'news-24';
const infoHash = randomBytes(20);
const control = generateKeyPairSync('ed25519');
let verifier: TokenVerifier;

interface Identity {
  sid: string;
  token: string;
  clientKey: KeyObject;
  peerId: Buffer;
}

async function identity(sid: string, nowMs = Date.now(), ttlS = 300, key?: KeyObject): Promise<Identity> {
  const clientKey = key ?? generateKeyPairSync('ed25519').privateKey;
  const { token } = await signAccessToken(control.privateKey, { sub: `user-${sid}`, sid, prg: PROGRAM, role: 'viewer', ckey: rawPublicKey(clientKey) }, nowMs, ttlS);
  return { sid, token, clientKey, peerId: randomBytes(20) };
}

function connection(id: Identity, socket: PeerSocket, binding: ChannelBinding, clock: Clock = systemClock, token?: () => string, outage?: OutageView): PeerConnection {
  return new PeerConnection({
    ...(outage ? { outage } : {}),
    socket,
    channel: binding,
    infoHash,
    localPeerId: id.peerId,
    token: token ?? (() => id.token),
    clientKey: id.clientKey,
    role: 'viewer',
    program: PROGRAM,
    verifier,
    clock,
    isRevoked: () => false,
  });
}

/** A bare Wire on the attacker's end of `ch`, keeping every byte it decrypted. */
function attackerWire(ch: { stream: PeerSocket }): { w: Wire; decrypted: Buffer[]; closed: Promise<void>; handshakes: LiveHandshake[] } {
  const w = new Wire();
  const decrypted: Buffer[] = [];
  const handshakes: LiveHandshake[] = [];
  w.on('data', (b) => ch.stream.write(b));
  w.on('error', () => undefined);
  w.on('extended-handshake', (d) => handshakes.push(decodeLiveHandshake(d)));
  ch.stream.on('data', (b: Buffer) => {
    decrypted.push(Buffer.from(b));
    w.receive(b);
  });
  const closed = new Promise<void>((resolve) => ch.stream.on('close', () => resolve()));
  return { w, decrypted, closed, handshakes };
}

/** Two in-memory streams wired to each other: a PeerConnection runs over them given any binding. */
function memoryPair(): [Duplex, Duplex] {
  const a: Duplex = new Duplex({ read() {}, write: (chunk: Buffer, _e, cb) => (b.push(chunk), cb()), final: (cb) => (b.push(null), cb()) });
  const b: Duplex = new Duplex({ read() {}, write: (chunk: Buffer, _e, cb) => (a.push(chunk), cb()), final: (cb) => (a.push(null), cb()) });
  return [a, b];
}

before(async () => {
  verifier = await createTokenVerifier(rawPublicKey(control.privateKey));
});

describe('token order: the acceptor hands its token to no stranger', { timeout: 15_000 }, () => {
  it('a stranger who completes the Noise and BitTorrent handshakes, then waits, receives no token', async () => {
    const clock = new ManualClock();
    const bob = await identity('sess-bob', clock.now());
    const sp = await securePair(generateKeyPairSync('ed25519').privateKey, bob.clientKey, clock);
    const pc = connection(bob, sp.listener.stream, sp.listener.binding, clock);
    const a = attackerWire(sp.dialer);
    const answered = once(a.w, 'handshake');
    a.w.handshake(infoHash, randomBytes(20));
    await answered;
    // Waiting is all a harvester can do; the acceptor gives up at its timeout and closes.
    clock.advance(5_000);
    await a.closed;
    assert.equal(pc.closed, true);
    const all = Buffer.concat(a.decrypted);
    assert.equal(all.length > 0, true, 'the BitTorrent handshake was answered');
    assert.equal(all.includes(bob.token), false, 'no token');
    assert.equal(all.includes('gc_token'), false, 'no extended handshake');
    assert.deepEqual(a.handshakes, []);
    await sp.close();
  });

  it("a dialer showing someone else's token on its own channel key gets a refusal and no token back", async () => {
    const bob = await identity('sess-bob');
    const alice = await identity('sess-alice');
    const sp = await securePair(generateKeyPairSync('ed25519').privateKey, bob.clientKey);
    const pc = connection(bob, sp.listener.stream, sp.listener.binding);
    const refused = once(pc, 'refused');
    const a = attackerWire(sp.dialer);
    a.w.on('handshake', () => a.w.extendedHandshake(encodeLiveHandshake({ token: alice.token, role: 'viewer', auth: randomBytes(64) })));
    a.w.handshake(infoHash, randomBytes(20));
    const [err] = (await refused) as [Error];
    await a.closed;
    assert.ok(err instanceof ClientError && err.code === 'proof_invalid', String(err));
    const all = Buffer.concat(a.decrypted);
    assert.equal(all.includes(bob.token), false);
    assert.equal(all.includes('gc_token'), false);
    assert.match(all.toString('latin1'), /refused: proof_invalid/);
    await sp.close();
  });
});

describe('replay: a genuine proof fails on any other channel', { timeout: 15_000 }, () => {
  it("alice's recorded extended handshake, replayed to bob on a channel that differs only in its handshake hash, is refused", async () => {
    const alice = await identity('sess-alice');
    const bob = await identity('sess-bob');
    const aliceKey = Buffer.from(rawPublicKey(alice.clientKey), 'base64url');
    const bobKey = Buffer.from(rawPublicKey(bob.clientKey), 'base64url');
    const hash1 = randomBytes(64);

    // Channel 1: honest alice dials "bob" (the attacker plays bob's end and records what alice sends).
    const [aliceEnd, recorderEnd] = memoryPair();
    connection(alice, aliceEnd, { handshakeHash: hash1, localStaticKey: aliceKey, remoteStaticKey: bobKey, initiator: true });
    const recorder = attackerWire({ stream: recorderEnd });
    recorder.w.on('handshake', () => recorder.w.handshake(infoHash, bob.peerId));
    const recorded = (await once(recorder.w, 'extended-handshake'))[0] as BDict;
    assert.equal(recorder.handshakes[0]?.token, alice.token);

    // Channel 2: the same keys and peer ids (the strongest attacker: one who could even pass the
    // channel-key check), another handshake hash. Bob is the acceptor.
    const [attackerEnd, bobEnd] = memoryPair();
    const pc = connection(bob, bobEnd, { handshakeHash: randomBytes(64), localStaticKey: bobKey, remoteStaticKey: aliceKey, initiator: false });
    const refused = once(pc, 'refused');
    const replay = attackerWire({ stream: attackerEnd });
    replay.w.on('handshake', () => replay.w.extendedHandshake(recorded));
    replay.w.handshake(infoHash, alice.peerId);
    const [err] = (await refused) as [Error];
    assert.ok(err instanceof ClientError && err.code === 'proof_invalid', String(err));
    assert.equal(Buffer.concat(replay.decrypted).includes(bob.token), false, 'bob sent no token');

    // The control: the same recording on a channel with channel 1's hash is accepted, so only the hash made the difference.
    const [again, bobAgain] = memoryPair();
    const ok = connection(bob, bobAgain, { handshakeHash: hash1, localStaticKey: bobKey, remoteStaticKey: aliceKey, initiator: false });
    const accepted = once(ok, 'authenticated');
    const control2 = attackerWire({ stream: again });
    control2.w.on('handshake', () => control2.w.extendedHandshake(recorded));
    control2.w.handshake(infoHash, alice.peerId);
    await accepted;
    ok.close('test over');
  });
});

describe("expiry: an established connection ends with the remote's token", { timeout: 15_000 }, () => {
  async function established(clock: ManualClock, aliceTtlS: number, bobsOutage?: OutageView) {
    const alice = await identity('sess-alice', clock.now(), aliceTtlS);
    const bob = await identity('sess-bob', clock.now(), 3_600);
    let aliceToken = alice.token;
    const sp: { dialer: SecureChannel; listener: SecureChannel; close: () => Promise<void> } = await securePair(alice.clientKey, bob.clientKey, clock);
    const out = connection(alice, sp.dialer.stream, sp.dialer.binding, clock, () => aliceToken);
    const inb = connection(bob, sp.listener.stream, sp.listener.binding, clock, undefined, bobsOutage);
    await Promise.all([once(out, 'authenticated'), once(inb, 'authenticated')]);
    const inClosed = once(inb, 'close').then(([r]) => r as string);
    return { alice, bob, out, inb, inClosed, sp, setToken: (t: string) => (aliceToken = t) };
  }

  it('closes at expiry when no renewed token arrives', async () => {
    const clock = new ManualClock(Date.now());
    const c = await established(clock, 60);
    const told = once(c.out, 'leaving');
    clock.advance(59_000);
    assert.equal(c.inb.closed, false);
    clock.advance(1_000);
    assert.equal(c.inb.closed, true);
    assert.match(await c.inClosed, /^token_expired: /);
    assert.match(String((await told)[0]), /token_expired/);
    await c.sp.close();
  });

  it('stays open past the expiry while the control server is unreachable, and closes once the settling after its return is over', async () => {
    const clock = new ManualClock(Date.now());
    const outage = new ControlOutage(clock, 600_000, 15_000);
    outage.contact();
    const c = await established(clock, 20, outage);
    clock.advance(10_000);
    outage.unreachable(); // bob's renewal could not reach the control server; alice cannot renew either
    clock.advance(40_000); // twice past alice's expiry (and within the connection's idle timeout)
    assert.equal(c.inb.closed, false, 'kept through the outage');
    outage.contact(); // back: alice has the settling time to send a renewed token
    clock.advance(14_000);
    assert.equal(c.inb.closed, false);
    clock.advance(1_000);
    assert.match(await c.inClosed, /^token_expired: /);
    await c.sp.close();
  });

  it('stays open past the old expiry when a renewed token arrives over the connection, then ends at the new one', async () => {
    const clock = new ManualClock(Date.now());
    const c = await established(clock, 60);
    clock.advance(30_000);
    const renewed = await identity('sess-alice', clock.now(), 60, c.alice.clientKey);
    c.setToken(renewed.token);
    const seen = once(c.inb, 'token-renewed');
    c.out.sendToken(renewed.token);
    const [expiresAt] = (await seen) as [number];
    assert.equal(expiresAt, Math.floor(clock.now() / 1000) * 1000 + 60_000);
    clock.advance(31_000);
    assert.equal(c.inb.closed, false, 'kept past the first token');
    clock.advance(expiresAt - clock.now());
    assert.match(await c.inClosed, /^token_expired: /);
    await c.sp.close();
  });

  it("refuses a 'renewal' that names another session and closes the connection", async () => {
    const clock = new ManualClock(Date.now());
    const c = await established(clock, 60);
    const other = await identity('sess-mallory', clock.now(), 600, c.alice.clientKey);
    c.out.sendToken(other.token);
    assert.match(await c.inClosed, /^forbidden: renewed token names another session/);
    await c.sp.close();
  });
});
