/**
 * The control server's Ed25519 token signing key. It lives in the store (secret
 * `token_signing_key`, PKCS#8 DER base64url) so tokens and trackers' copies of
 * the public key stay valid across restarts.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { ed25519PrivateKey, rawPublicKey } from '../core/piece.js';
import type { ControlStore } from '../core/ports.js';
import { InternalError } from '../core/errors.js';

export const SIGNING_KEY_SECRET = 'token_signing_key';

export interface SigningKey {
  privateKey: KeyObject;
  /** Raw Ed25519 public key, base64url (JWK x): the `control_key` everyone verifies tokens with. */
  publicKey: string;
}

export async function loadOrCreateSigningKey(store: ControlStore): Promise<SigningKey> {
  const stored = await store.getSecret(SIGNING_KEY_SECRET);
  if (stored !== undefined) {
    let privateKey: KeyObject;
    try {
      privateKey = ed25519PrivateKey(stored);
    } catch (err) {
      throw new InternalError(`stored secret ${SIGNING_KEY_SECRET} is not an Ed25519 PKCS#8 key`, { cause: err });
    }
    if (privateKey.asymmetricKeyType !== 'ed25519') {
      throw new InternalError(`stored secret ${SIGNING_KEY_SECRET} is a ${privateKey.asymmetricKeyType} key, not Ed25519`);
    }
    return { privateKey, publicKey: rawPublicKey(privateKey) };
  }
  const { privateKey } = generateKeyPairSync('ed25519');
  await store.putSecret(SIGNING_KEY_SECRET, privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64url'));
  return { privateKey, publicKey: rawPublicKey(privateKey) };
}
