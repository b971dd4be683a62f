/**
 * Signs the segmenter's pieces with the program's source key, so every peer
 * can verify each piece alone against the source key in the metadata.
 */
import type { KeyObject } from 'node:crypto';
import { encodePiece, type LivePiece } from '../core/piece.js';
import type { PieceFields } from './segmenter.js';

const INFO_HASH_BYTES = 20;

export class PieceSigner {
  constructor(
    private readonly infoHash: Buffer,
    private readonly sourceKey: KeyObject,
  ) {
    if (infoHash.length !== INFO_HASH_BYTES) throw new RangeError(`an info hash is ${INFO_HASH_BYTES} bytes, got ${infoHash.length}`);
    if (sourceKey.type !== 'private' || sourceKey.asymmetricKeyType !== 'ed25519') {
      throw new RangeError('the source key must be an Ed25519 private key');
    }
  }

  sign(fields: PieceFields): LivePiece {
    return encodePiece(fields, this.infoHash, this.sourceKey);
  }
}
