/**
 * How the swarm checks a piece whose blocks have all arrived. The real one
 * verifies the source's signature (core/piece.ts); the simulator gives its own
 * (it skips signatures and shares one copy of each piece among its viewers).
 */
import type { KeyObject } from 'node:crypto';
import { decodePiece, type LivePiece } from '../core/piece.js';

/** Returns the piece, or throws (a ProtocolError naming what is wrong): its sender is then banned. */
export type PieceCheck = (seq: number, blocks: readonly Buffer[]) => LivePiece;

/** The source's signature over the info hash and the piece, checked on the joined blocks. */
export function signedPieceCheck(infoHash: Buffer, sourceKey: KeyObject): PieceCheck {
  return (seq, blocks) => {
    // One block needs no copy; more are joined once here, not block by block as they arrive.
    const bytes = blocks.length === 1 ? (blocks[0] as Buffer) : Buffer.concat(blocks);
    return decodePiece(bytes, seq, infoHash, sourceKey);
  };
}
