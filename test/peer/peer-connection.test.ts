import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { ManualClock, type Clock } from '../../src/core/clock.js';
import { ClientError, InternalError } from '../../src/core/errors.js';
import { rawPublicKey } from '../../src/core/piece.js';
import type { TokenRole } from '../../src/core/token.js';
import { PeerConnection, type PieceBlock } from '../../src/peer/peer-connection.js';
import { encodeLiveHandshake } from '../../src/protocol/live-extension.js';
import { systemClock } from '../../src/protocol/system-clock.js';
import { createTokenVerifier, signAccessToken, type TokenVerifier } from '../../src/protocol/token.js';
import { Wire } from '../../src/protocol/wire.js';
import type { SecureChannel } from '../../src/peer/secure-channel.js';
import { securePair, type SecurePair } from './secure-pair.js';

const PROGRAM = 'news-24';
const infoHash = randomBytes(20);
const control = generateKeyPairSync('ed25519');
let verifier: TokenVerifier;

interface Identity {
  sid: string;
  user: string;
  role: TokenRole;
  token: string;
  clientKey: KeyObject;
  peerId: Buffer;
}

async function identity(
  sid: string,
  // rawPublicKey derives from a private KeyObject; `boundTo` is the private key whose public half the token names.
  over: { signer?: KeyObject; program?: string; nowMs?: number; role?: TokenRole; boundTo?: KeyObject } = {},
): Promise<Identity> {
  const keys = generateKeyPairSync('ed25519');
  const role = over.role ?? 'viewer';
  const { token } = await signAccessToken(
    over.signer ?? control.privateKey,
    { sub: `user-${sid}`, sid, prg: over.program ?? PROGRAM, role, ckey: rawPublicKey(over.boundTo ?? keys.privateKey) },
    over.nowMs ?? Date.now(),
    300,
  );
  return { sid, user: `user-${sid}`, role, token, clientKey: keys.privateKey, peerId: randomBytes(20) };
}

interface Side {
  id: Identity;
  token?: () => string;
  revoked?: Set<string>;
  clock?: Clock;
  handshakeTimeoutMs?: number;
}

function connection(side: Side, channel: SecureChannel): PeerConnection {
  return new PeerConnection({
    socket: channel.stream,
    channel: channel.binding,
    infoHash,
    localPeerId: side.id.peerId,
    token: side.token ?? (() => side.id.token),
    clientKey: side.id.clientKey,
    role: side.id.role,
    program: PROGRAM,
    verifier,
    clock: side.clock ?? systemClock,
    isRevoked: (sid) => side.revoked?.has(sid) ?? false,
    handshakeTimeoutMs: side.handshakeTimeoutMs,
  });
}

/** Everything a PeerConnection did, to assert on after the fact. */
interface Trace {
  authenticated: boolean;
  refused: Error | null;
  pieces: PieceBlock[];
  closeReasons: string[];
  closed: Promise<string>;
  settled: Promise<void>;
}

function trace(pc: PeerConnection): Trace {
  const t: Trace = {
    authenticated: false,
    refused: null,
    pieces: [],
    closeReasons: [],
    closed: once(pc, 'close').then(([reason]) => reason as string),
    settled: new Promise((resolve) => {
      pc.once('authenticated', () => resolve());
      pc.once('close', () => resolve());
    }),
  };
  pc.on('authenticated', () => (t.authenticated = true));
  pc.on('refused', (err) => (t.refused = err));
  pc.on('piece', (p) => t.pieces.push(p));
  pc.on('close', (reason) => t.closeReasons.push(reason));
  return t;
}

interface Pair {
  out: PeerConnection;
  inb: PeerConnection;
  outTrace: Trace;
  inTrace: Trace;
  done: () => Promise<void>;
}

/** An outbound connection from `dialer` to a listener acting as `listener`, over a Noise channel on loopback TCP. */
async function pair(dialer: Side, listener: Side): Promise<Pair> {
  const sp = await securePair(dialer.id.clientKey, listener.id.clientKey);
  const out = connection(dialer, sp.dialer);
  const outTrace = trace(out);
  const inb = connection(listener, sp.listener);
  const inTrace = trace(inb);
  return {
    out,
    inb,
    outTrace,
    inTrace,
    done: async () => {
      out.close('test over');
      inb.close('test over');
      await sp.close();
    },
  };
}

/**
 * An attacker's end: a Noise channel to a PeerConnection acting as `victim`,
 * driven by hand through a bare Wire. Everything the attacker decrypts is kept.
 */
async function attackerTo(victim: Side, attackerKey: KeyObject = generateKeyPairSync('ed25519').privateKey) {
  const sp: SecurePair = await securePair(attackerKey, victim.id.clientKey);
  const pc = connection(victim, sp.listener);
  const t = trace(pc);
  const w = new Wire();
  const decrypted: Buffer[] = [];
  const received: string[] = [];
  w.on('data', (b) => sp.dialer.stream.write(b));
  sp.dialer.stream.on('data', (b: Buffer) => {
    decrypted.push(Buffer.from(b));
    w.receive(b);
  });
  w.on('error', () => received.push('error'));
  for (const e of ['handshake', 'extended-handshake', 'extended', 'piece', 'unchoke'] as const) w.on(e, () => received.push(e));
  const attackerClosed = new Promise<void>((resolve) => sp.dialer.stream.on('close', () => resolve()));
  return { sp, pc, t, w, decrypted, received, attackerClosed, binding: sp.dialer.binding };
}

before(async () => {
  verifier = await createTokenVerifier(rawPublicKey(control.privateKey));
});

describe('PeerConnection', () => {
  let alice: Identity;
  let bob: Identity;
  before(async () => {
    alice = await identity('sess-alice');
    bob = await identity('sess-bob', { role: 'source' });
  });

  it('authenticates both ways, then a piece flows on request', async () => {
    const p = await pair({ id: alice }, { id: bob });
    try {
      const [[outRemote], [inRemote]] = await Promise.all([once(p.out, 'authenticated'), once(p.inb, 'authenticated')]);
      assert.deepEqual({ ...outRemote, peerId: null, expiresAtMs: null }, { sid: 'sess-bob', user: 'user-sess-bob', role: 'source', peerId: null, expiresAtMs: null });
      assert.ok(outRemote.peerId.equals(bob.peerId));
      assert.equal(inRemote.sid, 'sess-alice');
      assert.ok(inRemote.expiresAtMs > Date.now());
      assert.equal(p.out.remote?.sid, 'sess-bob');

      // The source serves: window, then unchoke on interest, then the requested block.
      const block = randomBytes(32_800);
      p.inb.on('interested', () => p.inb.unchoke());
      p.inb.on('request', (r) => p.inb.sendPiece(r.seq, r.begin, block.subarray(r.begin, r.begin + r.length)));
      const windowSeen = once(p.out, 'window');
      p.inb.sendWindow(1_000, Buffer.from([0b0100_0000]));
      const [w] = await windowSeen;
      assert.equal(w.base, 1_000);
      assert.ok(w.bits.equals(Buffer.from([0b0100_0000])));

      const unchoked = once(p.out, 'unchoke');
      p.out.interested();
      await unchoked;
      assert.equal(p.out.remoteChoking, false);
      assert.equal(p.inb.remoteInterested, true);
      assert.equal(p.inb.amChoking, false);

      const got = once(p.out, 'piece');
      p.out.request(1_001, 0, block.length);
      const [piece] = (await got) as [PieceBlock];
      assert.equal(piece.seq, 1_001);
      assert.ok(piece.block.equals(block));
      assert.equal(p.out.downloaded, block.length);
      assert.equal(p.inb.uploaded, block.length);

      const haveSeen = once(p.inb, 'have');
      p.out.have(1_001);
      assert.deepEqual(await haveSeen, [1_001]);
    } finally {
      await p.done();
    }
  });

  it("step C: the remote's leaving is reported, then the connection closes once", async () => {
    const p = await pair({ id: alice }, { id: bob });
    try {
      await Promise.all([once(p.out, 'authenticated'), once(p.inb, 'authenticated')]);
      const leaving = once(p.inb, 'leaving');
      p.out.leaving('disconnected by the operator');
      assert.deepEqual(await leaving, ['disconnected by the operator']);
      assert.equal(await p.inTrace.closed, 'peer left: disconnected by the operator');
      await p.outTrace.closed;
      assert.deepEqual(p.inTrace.closeReasons, ['peer left: disconnected by the operator']);
      assert.equal(p.outTrace.closeReasons.length, 1);
      assert.equal(p.inTrace.refused, null);
    } finally {
      await p.done();
    }
  });

  describe('refuses a remote and closes before any piece', () => {
    const cases: [string, () => Promise<Side>, string][] = [
      ['with no token', async () => ({ id: await identity('sess-x'), token: () => '' }), 'token_missing'],
      ['with a token the control server did not sign', async () => ({ id: await identity('sess-x', { signer: generateKeyPairSync('ed25519').privateKey }) }), 'token_invalid'],
      ['with an expired token', async () => ({ id: await identity('sess-x', { nowMs: Date.now() - 3_600_000 }) }), 'token_expired'],
      ['with a token for another program', async () => ({ id: await identity('sess-x', { program: 'movies' }) }), 'token_wrong_program'],
      [
        "with another session's token and the wrong client key (proof fails)",
        async () => ({ id: await identity('sess-x', { boundTo: generateKeyPairSync('ed25519').privateKey }) }),
        'proof_invalid',
      ],
      ['whose session was revoked', async () => ({ id: await identity('sess-revoked') }), 'token_revoked'],
      ['presenting our own session', async () => ({ id: { ...(await identity('sess-x')), sid: 'sess-bob', token: bob.token, clientKey: bob.clientKey } }), 'conflict'],
    ];
    for (const [what, badSide, code] of cases) {
      it(what, async () => {
        const bad = await badSide();
        const good: Side = { id: bob, revoked: new Set(['sess-revoked']) };
        // The good side would serve at once if it ever authenticated the remote.
        const p = await pair(bad, good);
        p.inb.on('authenticated', () => {
          p.inb.unchoke();
          p.inb.sendPiece(1, 0, randomBytes(1_000));
        });
        p.out.on('authenticated', () => {
          p.out.interested();
          p.out.request(1, 0, 1_000);
        });
        try {
          await Promise.all([p.inTrace.closed, p.outTrace.closed]);
          assert.equal(p.inTrace.authenticated, false);
          const err = p.inTrace.refused;
          assert.ok(err instanceof ClientError, `refused with ${String(err)}`);
          assert.equal(err.code, code);
          assert.match(p.inTrace.closeReasons[0] ?? '', new RegExp(`^${code}: `));
          assert.deepEqual(p.outTrace.pieces, [], 'the refused side received no piece');
          assert.deepEqual(p.inTrace.pieces, []);
          assert.equal(p.inb.uploaded, 0);
        } finally {
          await p.done();
        }
      });
    }
  });

  it('tells the refused dialer why it was refused', async () => {
    const expired = await identity('sess-old', { nowMs: Date.now() - 3_600_000 });
    const p = await pair({ id: expired }, { id: bob });
    try {
      await p.outTrace.closed;
      assert.match(String(p.outTrace.refused?.message), /peer left before authentication: refused: token_expired/);
    } finally {
      await p.done();
    }
  });

  describe('drops a remote that sends data before authentication', () => {
    async function attack(script: (w: Wire) => void, key?: KeyObject): Promise<{ trace: Trace; received: string[] }> {
      const a = await attackerTo({ id: bob }, key);
      a.w.on('handshake', () => script(a.w));
      a.w.handshake(infoHash, randomBytes(20));
      await Promise.all([a.t.closed, a.attackerClosed]);
      await a.sp.close();
      return { trace: a.t, received: a.received };
    }

    it('a request right after the handshake', async () => {
      const { trace: t, received } = await attack((w) => w.request(1, 0, 16_384));
      assert.match(String(t.refused?.message), /peer sent request before authentication/);
      assert.ok(!received.includes('piece'));
    });

    it('a piece after presenting its own valid token with a forged proof', async () => {
      const mallory = await identity('sess-mallory');
      const { trace: t, received } = await attack((w) => {
        w.extendedHandshake(encodeLiveHandshake({ token: mallory.token, role: 'viewer', auth: randomBytes(64) }));
        w.piece(1, 0, Buffer.from('unsolicited'));
      }, mallory.clientKey);
      assert.ok(t.refused instanceof ClientError && t.refused.code === 'proof_invalid', String(t.refused));
      assert.deepEqual(t.pieces, []);
      assert.ok(!received.includes('piece'));
    });

    it('a stock BitTorrent handshake without the extension bit', async () => {
      const a = await attackerTo({ id: bob });
      a.w.handshake(infoHash, randomBytes(20), { extended: false });
      await Promise.all([a.t.closed, a.attackerClosed]);
      await a.sp.close();
      assert.ok(a.t.refused instanceof ClientError && a.t.refused.code === 'token_missing');
    });
  });

  it('refuses a handshake naming another info hash, without answering it', async () => {
    const a = await attackerTo({ id: bob });
    a.w.handshake(randomBytes(20), randomBytes(20));
    await Promise.all([a.t.closed, a.attackerClosed]);
    await a.sp.close();
    assert.match(String(a.t.refused?.message), /another info hash/);
    assert.deepEqual(a.decrypted, [], 'the listener does not even answer the handshake');
  });

  it('times out a peer that opens the channel and then sends nothing (virtual time)', async () => {
    const clock = new ManualClock();
    const a = await attackerTo({ id: bob, clock, handshakeTimeoutMs: 3_000 });
    clock.advance(2_999);
    assert.equal(a.t.refused, null);
    clock.advance(1);
    assert.match(String((a.t.refused as Error | null)?.message), /authentication timed out after 3000 ms/);
    await Promise.all([a.t.closed, a.attackerClosed]);
    await a.sp.close();
  });

  it('closes a peer that went silent past the idle limit (virtual time)', async () => {
    const clock = new ManualClock(Date.now());
    const p = await pair({ id: alice, clock }, { id: bob, clock });
    try {
      await Promise.all([once(p.out, 'authenticated'), once(p.inb, 'authenticated')]);
      // One keep-alive period is well inside the idle limit.
      clock.advance(30_000);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(p.out.closed, false);
      // With no I/O turn in between, nothing arrives for longer than the idle limit.
      clock.advance(150_000);
      assert.equal(p.out.closed, true);
      assert.equal(await p.outTrace.closed, 'nothing received for 120000 ms');
    } finally {
      await p.done();
    }
  });

  it('sendPiece reports backpressure and the connection emits drain', async () => {
    const p = await pair({ id: alice }, { id: bob });
    try {
      await Promise.all([once(p.out, 'authenticated'), once(p.inb, 'authenticated')]);
      // Loopback writes go straight to the kernel until its buffers fill; keep sending until write says wait.
      const big = randomBytes(128 * 1024);
      let received = 0;
      p.out.on('piece', (piece) => {
        assert.equal(piece.block.length, big.length);
        received++;
      });
      let sent = 0;
      let ok = true;
      while (ok && sent < 1_000) ok = p.inb.sendPiece(sent++, 0, big);
      assert.equal(ok, false, 'write reported backpressure');
      await once(p.inb, 'drain');
      while (received < sent) await once(p.out, 'piece');
      assert.equal(p.inb.uploaded, sent * big.length);
    } finally {
      await p.done();
    }
  });

  it('sending before authentication is a bug; after close it is a no-op', async () => {
    const p = await pair({ id: alice }, { id: bob });
    try {
      assert.throws(() => p.out.sendPiece(1, 0, Buffer.alloc(1)), InternalError);
      await Promise.all([once(p.out, 'authenticated'), once(p.inb, 'authenticated')]);
      p.out.close('bye');
      p.out.close('again');
      assert.deepEqual(p.outTrace.closeReasons, ['bye']);
      assert.equal(p.out.have(1), false);
      await p.inTrace.closed;
    } finally {
      await p.done();
    }
  });
});
