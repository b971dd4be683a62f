/**
 * One suite for the PeerLink contract, run over every transport: TCP (the
 * real one: loopback sockets, Noise, tokens) and in memory (what the swarm's
 * tests and the simulator run on). What the engine relies on must hold for
 * both, or the simulator does not run the engine the real viewers run.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { rawPublicKey } from '../../src/core/piece.js';
import { MemoryNetwork } from '../../src/peer/memory-transport.js';
import { TcpTransport } from '../../src/peer/tcp-transport.js';
import type { PeerLink, Transport, TransportHost } from '../../src/peer/transport.js';
import { systemClock } from '../../src/protocol/system-clock.js';
import { createTokenVerifier, signAccessToken, type TokenVerifier } from '../../src/protocol/token.js';
import type { ChannelPeer } from '../../src/protocol/tracker-channel.js';

interface Endpoint {
  sid: string;
  transport: Transport;
  listed: () => ChannelPeer;
  host: TestHost;
}

interface TestHost extends TransportHost {
  links: Array<{ link: PeerLink; outbound: boolean }>;
  refuse: Set<string>;
  linked: Promise<PeerLink>;
}

function testHost(): TestHost {
  let resolve: (l: PeerLink) => void = () => undefined;
  const linked = new Promise<PeerLink>((r) => (resolve = r));
  const h: TestHost = {
    links: [],
    refuse: new Set(),
    linked,
    link: (link, outbound) => {
      h.links.push({ link, outbound });
      resolve(link);
    },
    canAccept: () => true,
    refused: (sid) => h.refuse.has(sid),
    log: () => undefined,
  };
  return h;
}

type Make = (sid: string) => Promise<Endpoint>;

const PROGRAM = 'ch1';
const infoHash = randomBytes(20);
const control = generateKeyPairSync('ed25519');
let verifier: TokenVerifier;

before(async () => {
  verifier = await createTokenVerifier(rawPublicKey(control.privateKey));
});

const tcp: Make = async (sid) => {
  const keys = generateKeyPairSync('ed25519');
  const { token } = await signAccessToken(control.privateKey, { sub: `user-${sid}`, sid, prg: PROGRAM, role: 'viewer', ckey: rawPublicKey(keys.privateKey) }, Date.now(), 300);
  const transport = new TcpTransport({
    host: '127.0.0.1',
    port: 0,
    infoHash,
    program: PROGRAM,
    peerId: randomBytes(20),
    role: 'viewer',
    token: () => token,
    clientKey: keys.privateKey,
    verifier,
    clock: systemClock,
    closeLingerMs: 50,
  });
  const host = testHost();
  await transport.listen(host);
  const key = rawPublicKey(keys.privateKey);
  return { sid, transport, host, listed: () => ({ sid, peer_id: '00'.repeat(20), ip: '127.0.0.1', port: transport.port ?? 0, role: 'viewer', key }) };
};

const net = new MemoryNetwork({ clock: systemClock });
const memory: Make = async (sid) => {
  const transport = net.transport({ sid, user: `user-${sid}`, role: 'viewer' });
  const host = testHost();
  await transport.listen(host);
  return { sid, transport, host, listed: () => transport.listed };
};

for (const [name, make] of [['tcp', tcp], ['memory', memory]] as const) {
  describe(`PeerLink over the ${name} transport`, () => {
    let n = 0;
    const two = async (): Promise<{ a: Endpoint; b: Endpoint; ab: PeerLink; ba: PeerLink }> => {
      n++;
      const a = await make(`a${n}-${name}`);
      const b = await make(`b${n}-${name}`);
      let settled = 0;
      a.transport.dial(b.listed(), () => settled++);
      const [ab, ba] = await Promise.all([a.host.linked, b.host.linked]);
      assert.equal(settled, 1);
      return { a, b, ab, ba };
    };
    const end = async (...eps: Endpoint[]): Promise<void> => {
      for (const e of eps) for (const { link } of e.host.links) link.close('test over');
      await Promise.all(eps.map((e) => e.transport.close()));
    };

    it('a dial hands each end an authenticated link: who is there, and which end dialed', async () => {
      const { a, b, ab, ba } = await two();
      assert.deepEqual(ab.remote, { sid: b.sid, user: `user-${b.sid}`, role: 'viewer' });
      assert.deepEqual(ba.remote, { sid: a.sid, user: `user-${a.sid}`, role: 'viewer' });
      assert.deepEqual([a.host.links[0]?.outbound, b.host.links[0]?.outbound], [true, false]);
      assert.deepEqual([ab.amChoking, ab.remoteChoking, ab.remoteInterested], [true, true, false], 'both start choked and not interested');
      await end(a, b);
    });

    it('each sending method arrives as its event, in order, and flags follow', async () => {
      const { a, b, ab, ba } = await two();
      const seen: string[] = [];
      const block = randomBytes(16_384);
      let got: Buffer | null = null;
      ba.on('window', (w) => seen.push(`window ${w.base} ${w.bits.toString('hex')}`));
      ba.on('have', (s) => seen.push(`have ${s}`));
      ba.on('unchoke', () => seen.push(`unchoke ${ba.remoteChoking}`));
      ba.on('interested', () => seen.push(`interested ${ba.remoteInterested}`));
      ba.on('request', (r) => seen.push(`request ${r.seq} ${r.begin} ${r.length}`));
      ba.on('cancel', (r) => seen.push(`cancel ${r.seq} ${r.begin} ${r.length}`));
      ba.on('piece', (p) => {
        got = p.block;
        seen.push(`piece ${p.seq} ${p.begin}`);
      });
      ba.on('not-interested', () => seen.push('not-interested'));
      const leaving = once(ba, 'leaving');
      ab.sendWindow(7, Buffer.from([0xa0]));
      ab.have(9);
      ab.unchoke();
      ab.interested();
      ab.request(9, 16_384, 16_384);
      ab.sendPiece(9, 0, block);
      ab.cancel(9, 16_384, 16_384);
      ab.notInterested();
      ab.sendToken('renewed-token-is-not-an-event');
      ab.leaving('bye');
      assert.deepEqual(await leaving, ['bye']);
      assert.deepEqual(seen, ['window 7 a0', 'have 9', 'unchoke false', 'interested true', 'request 9 16384 16384', 'piece 9 0', 'cancel 9 16384 16384', 'not-interested']);
      assert.ok(block.equals(got ?? Buffer.alloc(0)));
      assert.equal(ab.amChoking, false);
      await end(a, b);
    });

    it('close: the far end hears one close; a closed link sends nothing', async () => {
      const { a, b, ab, ba } = await two();
      const closes: string[] = [];
      ba.on('close', (r) => closes.push(r));
      const closed = once(ba, 'close');
      ab.close('done here');
      assert.equal(ab.closed, true);
      assert.equal(ab.have(1), false);
      await closed;
      assert.equal(ba.closed, true);
      assert.equal(closes.length, 1);
      await end(a, b);
    });

    it('a session the acceptor refuses gets no link, and its dial settles', async () => {
      const a = await make(`ra-${name}`);
      const b = await make(`rb-${name}`);
      b.host.refuse.add(a.sid);
      await new Promise<void>((resolve) => a.transport.dial(b.listed(), resolve));
      assert.equal(a.host.links.length + b.host.links.length, 0);
      await end(a, b);
    });
  });
}
