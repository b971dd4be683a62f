/**
 * A program's source signing key, kept by the operator, never by the control
 * server: `gatecast admin programs add` makes the key pair here and sends only
 * the public key; `gatecast broadcast` signs with the private key read from
 * the file. Default place: $XDG_CONFIG_HOME/gatecast/source-keys/<control
 * host_port>/<program>.pem (else ~/.config/...), the file 0600 in 0700
 * directories. Copy it to the broadcasting machine if that is another one.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ed25519PrivateKey, rawPublicKey } from '../core/piece.js';
import { configDir } from './login-store.js';

export function defaultSourceKeyPath(controlUrl: string, program: string, env: Record<string, string | undefined> = process.env): string {
  const host = new URL(controlUrl).host.replace(/[^A-Za-z0-9.-]/g, '_');
  return join(configDir(env), 'source-keys', host, `${program}.pem`);
}

/**
 * Makes a new Ed25519 key pair and writes the private key (PKCS#8 PEM, 0600)
 * beside `path`; `commit()` moves it into place (once the program exists),
 * `discard()` removes it (the server refused), so a refused add never
 * overwrites the key of a program that is on air.
 */
export function newSourceKeyFile(path: string): { publicKey: string; commit(): void; discard(): void } {
  const { privateKey } = generateKeyPairSync('ed25519');
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.new`;
  writeFileSync(tmp, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  return {
    publicKey: rawPublicKey(privateKey),
    commit: () => renameSync(tmp, path),
    discard: () => rmSync(tmp, { force: true }),
  };
}

/** Reads a source key file: PKCS#8 PEM, or the base64url DER the control server hands out for programs it keyed. */
export function readSourceKeyFile(path: string): KeyObject {
  const text = readFileSync(path, 'utf8').trim();
  const key = text.startsWith('-----BEGIN') ? createPrivateKey(text) : ed25519PrivateKey(text);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${path} holds a ${String(key.asymmetricKeyType)} key, not Ed25519`);
  return key;
}
