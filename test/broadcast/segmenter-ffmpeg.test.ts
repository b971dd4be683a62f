import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Segmenter, type PieceFields } from '../../src/broadcast/segmenter.js';
import { packetPid, payloadUnitStart, randomAccessIndicator } from '../../src/broadcast/ts-packets.js';
import { decodeStats, testPatternBuffer } from '../helpers/ffmpeg.js';

const P = 188;
const PACKETS_PER_PIECE = 50;
const SECONDS = 4;

function segment(stream: Buffer): PieceFields[] {
  const seg = new Segmenter({ packetsPerPiece: PACKETS_PER_PIECE, firstSeq: 1000 });
  const pieces: PieceFields[] = [];
  // Chunks of an odd size, as a pipe would deliver them.
  for (let i = 0; i < stream.length; i += 7001) pieces.push(...seg.push(stream.subarray(i, i + 7001), i));
  pieces.push(...seg.flush(stream.length));
  assert.equal(seg.droppedBytes, 0);
  return pieces;
}

/** Every byte from the piece's random access point to the end of the stream. */
function fromRap(pieces: PieceFields[], index: number): Buffer {
  const first = pieces[index]!;
  return Buffer.concat([first.payload.subarray(first.rapOffset!), ...pieces.slice(index + 1).map((p) => p.payload)]);
}

test('real ffmpeg output: a random access point each second, each starting PAT, PMT, keyframe, and decodable from there', async () => {
  const stream = await testPatternBuffer(SECONDS, 1_000_000);
  const pieces = segment(stream);
  assert.ok(pieces.every((p) => p.payload.length === PACKETS_PER_PIECE * P));
  assert.deepEqual(pieces.map((p) => p.seq), pieces.map((_, i) => 1000 + i));

  const raps = pieces.map((p, i) => ({ p, i })).filter(({ p }) => p.rapOffset !== null);
  assert.equal(raps.length, SECONDS, 'one keyframe per second (25 frames per GOP at 25 fps)');

  const videoPid = packetPid(pieces[raps[0]!.i]!.payload.subarray(raps[0]!.p.rapOffset! + 2 * P));
  for (const { p } of raps) {
    const at = p.payload.subarray(p.rapOffset!);
    const firstPid = packetPid(at);
    if (firstPid === 0) {
      // PAT, then the PMT, then the keyframe within a few packets (null padding packets aside).
      const following = Array.from({ length: 16 }, (_, k) => at.subarray((k + 1) * P, (k + 2) * P))
        .filter((b) => b.length === P && packetPid(b) !== 0x1fff)
        .slice(0, 4);
      assert.ok(following.some((b) => packetPid(b) === videoPid && payloadUnitStart(b) && randomAccessIndicator(b)));
    } else {
      // The PAT fell at the end of the previous piece: the RAP is the keyframe itself.
      assert.equal(firstPid, videoPid);
      assert.ok(randomAccessIndicator(at));
    }
  }
  assert.ok(raps.filter(({ p }) => packetPid(p.payload.subarray(p.rapOffset!)) === 0).length >= SECONDS - 1);

  // A viewer joining at the first RAP after the start sees clean video: no decoder errors.
  const joinAt = raps.find(({ i, p }) => i > 0 && packetPid(p.payload.subarray(p.rapOffset!)) === 0);
  assert.ok(joinAt, 'a mid-stream RAP that starts with a PAT');
  const mid = await decodeStats('-', 30, fromRap(pieces, joinAt.i));
  assert.equal(mid.errors, '');
  assert.ok(mid.frames >= 50, `decoded ${mid.frames} frames`);

  // The control: joining between keyframes is what a RAP spares the viewer.
  const blind = await decodeStats('-', 30, Buffer.concat(pieces.slice(joinAt.i + 3).map((p) => p.payload)));
  assert.notEqual(blind.errors, '');

  const all = await decodeStats('-', 30, fromRap(pieces, raps[0]!.i));
  assert.equal(all.errors, '');
  assert.ok(all.frames >= 50 + 25, `decoded ${all.frames} frames`);
});
