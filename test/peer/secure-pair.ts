/** Loopback TCP sockets with the Noise channel opened on them, for peer-wire tests. */
import { once } from 'node:events';
import type { KeyObject } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import type { Clock } from '../../src/core/clock.js';
import { noiseKeyPair, openSecureChannel, type SecureChannel } from '../../src/peer/secure-channel.js';
import { systemClock } from '../../src/protocol/system-clock.js';

export interface SecurePair {
  dialer: SecureChannel;
  listener: SecureChannel;
  /** The raw TCP sockets, dialer's end and listener's end. */
  raw: { dialer: net.Socket; listener: net.Socket };
  close: () => Promise<void>;
}

/** Dials a fresh loopback listener and runs the Noise handshake, `dialerKey` as initiator. */
export async function securePair(dialerKey: KeyObject, listenerKey: KeyObject, clock: Clock = systemClock): Promise<SecurePair> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
  const [inSocket] = (await accepted) as [net.Socket];
  const [dialer, listener] = await Promise.all([
    openSecureChannel(socket, { initiator: true, keyPair: noiseKeyPair(dialerKey), clock, timeoutMs: 5_000 }),
    openSecureChannel(inSocket, { initiator: false, keyPair: noiseKeyPair(listenerKey), clock, timeoutMs: 5_000 }),
  ]);
  return {
    dialer,
    listener,
    raw: { dialer: socket, listener: inSocket },
    close: async () => {
      socket.destroy();
      inSocket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Opens the Noise channel to `port` as a dialer with `key`, as any client (or attacker) would. */
export async function dialSecure(port: number, key: KeyObject, host = '127.0.0.1'): Promise<SecureChannel> {
  const socket = net.connect(port, host);
  socket.on('error', () => undefined);
  return openSecureChannel(socket, { initiator: true, keyPair: noiseKeyPair(key), clock: systemClock, timeoutMs: 5_000 });
}
