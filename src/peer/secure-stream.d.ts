/**
 * The slice of @hyperswarm/secret-stream (a streamx duplex, untyped upstream)
 * that secure-channel.ts uses.
 */
declare module '@hyperswarm/secret-stream' {
  import type { Duplex as NodeDuplex } from 'node:stream';

  interface NoiseKeyPair {
    publicKey: Buffer;
    /** libsodium's 64 bytes: 32-byte seed ‖ 32-byte public key. */
    secretKey: Buffer;
  }

  class SecretStream {
    constructor(isInitiator: boolean, rawStream: NodeDuplex, opts?: { keyPair?: NoiseKeyPair; pattern?: 'XX' });
    readonly isInitiator: boolean;
    readonly publicKey: Buffer | null;
    readonly remotePublicKey: Buffer | null;
    readonly handshakeHash: Buffer | null;
    readonly destroyed: boolean;
    readonly rawBytesWritten: number;
    readonly rawBytesRead: number;
    write(data: Buffer): boolean;
    end(): void;
    destroy(err?: Error): void;
    on(event: 'data', fn: (chunk: Buffer) => void): this;
    on(event: 'connect' | 'drain' | 'end' | 'close' | 'finish', fn: () => void): this;
    on(event: 'error', fn: (err: Error) => void): this;
    once(event: 'connect' | 'close', fn: () => void): this;
    once(event: 'error', fn: (err: Error) => void): this;
    off(event: string, fn: (...args: never[]) => void): this;
  }
  export default SecretStream;
}
