import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { generateKeyPairSync } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { ManualClock } from '../../src/core/clock.js';
import { ProtocolError } from '../../src/core/errors.js';
import { rawPublicKey } from '../../src/core/piece.js';
import { noiseKeyPair, openSecureChannel } from '../../src/peer/secure-channel.js';
import { securePair } from './secure-pair.js';

/** A listener whose accepted socket runs the responder's side on `clock`; the raw client socket is returned. */
async function rawClientTo(clock: ManualClock) {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const client = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
  const got: Buffer[] = [];
  client.on('data', (b: Buffer) => got.push(b));
  client.on('error', () => undefined);
  const [socket] = (await accepted) as [net.Socket];
  const opened = openSecureChannel(socket, { initiator: false, keyPair: noiseKeyPair(generateKeyPairSync('ed25519').privateKey), clock, timeoutMs: 5_000 });
  return { client, got, opened, socket, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('secure channel', { timeout: 15_000 }, () => {
  it('binds both ends to one handshake hash and proves each static key (the client keys)', async () => {
    const a = generateKeyPairSync('ed25519').privateKey;
    const b = generateKeyPairSync('ed25519').privateKey;
    const p = await securePair(a, b);
    try {
      assert.equal(p.dialer.binding.handshakeHash.length, 64);
      assert.ok(p.dialer.binding.handshakeHash.equals(p.listener.binding.handshakeHash));
      assert.equal(p.dialer.binding.remoteStaticKey.toString('base64url'), rawPublicKey(b));
      assert.equal(p.listener.binding.remoteStaticKey.toString('base64url'), rawPublicKey(a));
      assert.deepEqual([p.dialer.binding.initiator, p.listener.binding.initiator], [true, false]);
      const got = new Promise<Buffer>((resolve) => p.listener.stream.on('data', resolve));
      p.dialer.stream.write(Buffer.from('hello'));
      assert.equal(String(await got), 'hello');
      const other = await securePair(a, b);
      assert.ok(!other.dialer.binding.handshakeHash.equals(p.dialer.binding.handshakeHash), 'a new channel between the same keys has another hash');
      await other.close();
    } finally {
      await p.close();
    }
  });

  it('drops a plain BitTorrent handshake at once, before its deadline, sending nothing', async () => {
    const clock = new ManualClock();
    const c = await rawClientTo(clock);
    const hs = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(48)]);
    c.client.write(hs);
    await assert.rejects(c.opened, (err: unknown) => err instanceof ProtocolError && /oversized frame/.test(err.message));
    await once(c.client, 'close');
    assert.deepEqual(c.got, []);
    await c.close();
  });

  it('ends an open channel whose peer announces a frame over 2 MiB, before reading it', async () => {
    const p = await securePair(generateKeyPairSync('ed25519').privateKey, generateKeyPairSync('ed25519').privateKey);
    try {
      const closed = new Promise<void>((resolve) => p.listener.stream.on('close', () => resolve()));
      // Under the channel, on the raw socket: a length of 3 MiB (little endian) and one byte of it.
      p.raw.dialer.write(Buffer.from([0x00, 0x00, 0x30, 0xff]));
      await closed;
      assert.equal(p.raw.listener.destroyed, true);
    } finally {
      await p.close();
    }
  });

  it('gives up on a socket that sends nothing at its deadline (virtual time)', async () => {
    const clock = new ManualClock();
    const c = await rawClientTo(clock);
    clock.advance(4_999);
    assert.equal(c.socket.destroyed, false);
    clock.advance(1);
    await assert.rejects(c.opened, /no handshake within 5000 ms/);
    await once(c.client, 'close');
    await c.close();
  });
});
