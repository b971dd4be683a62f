/**
 * The encrypted, authenticated pipe every peer connection runs in: a Noise XX
 * handshake (Ed25519 static keys via noise-curve-ed) and then libsodium
 * secretstream frames, from @hyperswarm/secret-stream. The static key pair is
 * the session's client key (the one its token's `ckey` names), so once the
 * handshake is done the channel itself says which key holds the other end;
 * peer-auth.ts then checks that key against the token and a signature over the
 * handshake hash binds the gc_live proof to this one channel.
 *
 * Nothing of gatecast crosses the socket before the handshake completes: a
 * stranger who connects sees two Noise messages and nothing else.
 */
import type { KeyObject } from 'node:crypto';
import type { Socket } from 'node:net';
import SecretStream from '@hyperswarm/secret-stream';
import type { Clock } from '../core/clock.js';
import { ProtocolError } from '../core/errors.js';

/** What PeerConnection needs of its transport: the slice of a stream it uses. */
export interface PeerSocket {
  write(data: Buffer): boolean;
  /** Half-closes after what is queued has been written. */
  end(): void;
  destroy(): void;
  readonly destroyed: boolean;
  on(event: 'data', fn: (chunk: Buffer) => void): this;
  on(event: 'drain' | 'end' | 'close', fn: () => void): this;
  on(event: 'error', fn: (err: Error) => void): this;
}

/** What the finished handshake established; the peer proof signs `handshakeHash`. */
export interface ChannelBinding {
  /** Noise handshake hash: unique to this channel, covers both ephemeral and both static keys. */
  handshakeHash: Buffer;
  /** Our Ed25519 static public key (raw 32 bytes). */
  localStaticKey: Buffer;
  /** The remote's Ed25519 static public key (raw 32 bytes), proven by the handshake. */
  remoteStaticKey: Buffer;
  /** True when we opened the channel (we dialed). */
  initiator: boolean;
}

export interface SecureChannel {
  stream: PeerSocket;
  binding: ChannelBinding;
}

export interface NoiseKeyPair {
  publicKey: Buffer;
  /** libsodium layout: 32-byte seed ‖ 32-byte public key. */
  secretKey: Buffer;
}

/** The Noise static key pair for a session's Ed25519 client key. */
export function noiseKeyPair(clientKey: KeyObject): NoiseKeyPair {
  const jwk = clientKey.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string' || typeof jwk.x !== 'string') {
    throw new RangeError('the client key must be a private Ed25519 key');
  }
  const seed = Buffer.from(jwk.d, 'base64url');
  const publicKey = Buffer.from(jwk.x, 'base64url');
  return { publicKey, secretKey: Buffer.concat([seed, publicKey]) };
}

export interface OpenChannelOptions {
  initiator: boolean;
  keyPair: NoiseKeyPair;
  clock: Clock;
  /** The handshake must complete within this, or the socket is destroyed. */
  timeoutMs: number;
}

/**
 * Runs the Noise handshake over `socket`. Resolves once it completed; rejects
 * with a ProtocolError (and the socket destroyed) when it fails, the socket
 * closes, or `timeoutMs` passes first.
 */
export function openSecureChannel(socket: Socket, opts: OpenChannelOptions): Promise<SecureChannel> {
  return new Promise((resolve, reject) => {
    // Before the stream reads them: a frame header announcing more than a handshake
    // message (later: more than any peer message) ends the socket, before the stream
    // allocates a buffer that size.
    let limit = MAX_HANDSHAKE_FRAME_BYTES;
    const guard = frameGuard(
      () => limit,
      () => {
        if (!settled) return fail('oversized frame during the handshake');
        socket.destroy();
        stream.destroy(new Error(`secure channel: frame over ${limit} bytes`));
      },
    );
    socket.prependListener('data', guard);
    const stream = new SecretStream(opts.initiator, socket, { keyPair: opts.keyPair, pattern: 'XX' });
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      socket.off('data', guard);
      stream.destroy();
      socket.destroy();
      reject(new ProtocolError(`secure channel: ${why}`));
    };
    const timer = opts.clock.setTimeout(() => fail(`no handshake within ${opts.timeoutMs} ms`), opts.timeoutMs);
    const onError = (err: Error): void => fail(err.message);
    const onClose = (): void => fail('closed during the handshake');
    stream.on('error', onError);
    stream.once('close', onClose);
    stream.once('connect', () => {
      if (settled) return;
      const { handshakeHash, remotePublicKey, publicKey } = stream;
      if (!handshakeHash || !remotePublicKey || !publicKey || remotePublicKey.length !== 32) return fail('handshake left no keys');
      settled = true;
      timer.cancel();
      limit = MAX_FRAME_BYTES;
      stream.off('close', onClose);
      // Later errors reach the connection through the stream's 'close'; a stray
      // 'error' before it listens must not throw.
      stream.off('error', onError);
      stream.on('error', () => undefined);
      resolve({
        stream,
        binding: {
          handshakeHash: Buffer.from(handshakeHash),
          localStaticKey: Buffer.from(publicKey),
          remoteStaticKey: Buffer.from(remotePublicKey),
          initiator: opts.initiator,
        },
      });
    });
  });
}

/** Noise XX messages are under 200 bytes; the stream's first frames after it are as small. */
export const MAX_HANDSHAKE_FRAME_BYTES = 4096;
/**
 * After the handshake: a frame carries what one turn of the event loop wrote
 * (secure-writer.ts flushes past 64 KiB, and one wire message is at most
 * 1 MiB + 13 bytes), so 2 MiB is never reached by an honest peer.
 */
export const MAX_FRAME_BYTES = 2 * 1024 * 1024;

/**
 * Reads the 3-byte little-endian frame lengths of the raw stream and calls
 * `tooBig` at the first over `limit()` (a plain BitTorrent handshake reads as
 * a 6.9 MB frame). Skips over frame bodies, so it costs a few steps a frame.
 */
function frameGuard(limit: () => number, tooBig: () => void): (chunk: Buffer) => void {
  let header = 0;
  let headerBytes = 0;
  let bodyLeft = 0;
  let tripped = false;
  return (chunk: Buffer) => {
    let i = 0;
    while (i < chunk.length && !tripped) {
      if (bodyLeft > 0) {
        const n = Math.min(bodyLeft, chunk.length - i);
        bodyLeft -= n;
        i += n;
        continue;
      }
      header |= (chunk[i] as number) << (8 * headerBytes);
      headerBytes++;
      i++;
      if (headerBytes < 3) continue;
      if (header > limit()) {
        tripped = true;
        tooBig();
        return;
      }
      bodyLeft = header;
      header = 0;
      headerBytes = 0;
    }
  };
}
