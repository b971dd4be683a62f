import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { ProtocolError } from '../../src/core/errors.js';
import { decodePiece } from '../../src/core/piece.js';
import { PieceSigner } from '../../src/broadcast/piece-signer.js';
import { Segmenter } from '../../src/broadcast/segmenter.js';
import { VIDEO_PID, pesData, pesStart, tables } from './ts-builder.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const infoHash = Buffer.alloc(20, 3);

test('signed pieces verify with decodePiece and keep their fields', () => {
  const seg = new Segmenter({ packetsPerPiece: 4, firstSeq: 9 });
  const fields = seg.push(Buffer.concat([pesData(VIDEO_PID), ...tables(), pesStart(VIDEO_PID, true), pesData(VIDEO_PID), pesData(VIDEO_PID), pesData(VIDEO_PID), pesData(VIDEO_PID)]), 1234);
  const signer = new PieceSigner(infoHash, privateKey);
  const signed = fields.map((f) => signer.sign(f));
  assert.equal(signed.length, 2);
  for (const [i, s] of signed.entries()) {
    const back = decodePiece(s.bytes, 9 + i, infoHash, publicKey);
    assert.deepEqual(
      { seq: back.seq, timestampMs: back.timestampMs, rapOffset: back.rapOffset, payload: back.payload },
      fields[i],
    );
  }
  assert.equal(signed[0]!.rapOffset, 188);
  assert.throws(() => decodePiece(signed[0]!.bytes, 9, Buffer.alloc(20, 4), publicKey), ProtocolError);
  const tampered = Buffer.from(signed[1]!.bytes);
  tampered[100] = tampered[100]! ^ 1;
  assert.throws(() => decodePiece(tampered, 10, infoHash, publicKey), /bad signature/);
});
