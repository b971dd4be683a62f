import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Segmenter, type PieceFields } from '../../src/broadcast/segmenter.js';
import { NULL_PACKET } from '../../src/broadcast/ts-packets.js';
import { AUDIO_PID, PMT_PID, VIDEO_PID, pat, pesData, pesStart, pidOf, pmt, tables } from './ts-builder.js';

const P = 188;

function packetsOf(pieces: PieceFields[]): Buffer[] {
  const out: Buffer[] = [];
  for (const piece of pieces) for (let i = 0; i < piece.payload.length; i += P) out.push(piece.payload.subarray(i, i + P));
  return out;
}

function numbered(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => pesData(VIDEO_PID, i));
}

test('pieces are exactly packetsPerPiece × 188 bytes, numbered from firstSeq', () => {
  const seg = new Segmenter({ packetsPerPiece: 5, firstSeq: 42 });
  const pieces = seg.push(Buffer.concat(numbered(17)), 1000);
  assert.equal(pieces.length, 3);
  assert.deepEqual(pieces.map((p) => p.seq), [42, 43, 44]);
  for (const p of pieces) {
    assert.equal(p.payload.length, 5 * P);
    assert.equal(p.timestampMs, 1000);
    assert.equal(p.rapOffset, null);
  }
  assert.equal(seg.pendingPackets, 2);
  assert.equal(seg.nextSeq, 45);
  assert.equal(new Segmenter({ packetsPerPiece: 3 }).nextSeq, 0);
});

test('chunks split anywhere give the same pieces as one chunk', () => {
  const stream = Buffer.concat([...tables(), pesStart(VIDEO_PID, true), ...numbered(40), ...tables(), pesStart(VIDEO_PID, true), ...numbered(30)]);
  const whole = new Segmenter({ packetsPerPiece: 7 }).push(stream, 0);

  const byteWise = new Segmenter({ packetsPerPiece: 7 });
  const got: PieceFields[] = [];
  for (let i = 0; i < stream.length; i++) got.push(...byteWise.push(stream.subarray(i, i + 1), 0));
  assert.deepEqual(got, whole);

  let seed = 7;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % 400) + 1;
  const chunked = new Segmenter({ packetsPerPiece: 7 });
  const got2: PieceFields[] = [];
  for (let i = 0; i < stream.length; ) {
    const n = random();
    got2.push(...chunked.push(stream.subarray(i, i + n), 0));
    i += n;
  }
  assert.deepEqual(got2, whole);
  assert.equal(chunked.droppedBytes, 0);
});

test('garbage between packets is dropped and counted, even garbage holding 0x47', () => {
  const good = numbered(12);
  const junk1 = Buffer.from([0x00, 0x47, 0x12, 0x47, 0x99]);
  const junk2 = Buffer.alloc(300, 0x00);
  for (let i = 1; i < junk2.length; i += 50) junk2[i] = 0x47; // stray sync bytes, none confirmed a packet later
  const junk3 = Buffer.from('not a packet');
  const stream = Buffer.concat([junk1, good[0]!, good[1]!, good[2]!, junk2, ...good.slice(3, 8), junk3, ...good.slice(8)]);
  const seg = new Segmenter({ packetsPerPiece: 4 });
  const out: PieceFields[] = [];
  for (let i = 0; i < stream.length; i += 100) out.push(...seg.push(stream.subarray(i, i + 100), 0));
  assert.deepEqual(packetsOf(out), good);
  assert.equal(seg.droppedBytes, junk1.length + junk2.length + junk3.length);
});

test('a stream joined mid-packet regains sync', () => {
  const good = numbered(8);
  const stream = Buffer.concat(good).subarray(100);
  const seg = new Segmenter({ packetsPerPiece: 7 });
  const out = seg.push(stream, 0);
  assert.deepEqual(packetsOf(out), good.slice(1));
  assert.equal(seg.droppedBytes, 88);
});

test('flush pads the partial piece with null packets and keeps a partial packet for later', () => {
  const seg = new Segmenter({ packetsPerPiece: 5 });
  const good = numbered(4);
  const stream = Buffer.concat(good);
  assert.deepEqual(seg.push(stream.subarray(0, 100), 0), []); // sync not confirmed yet: nothing pending
  assert.equal(seg.pendingPackets, 0);
  assert.deepEqual(seg.flush(0), []);
  assert.deepEqual(seg.push(stream.subarray(100, 2 * P + 50), 0), []);
  assert.equal(seg.pendingPackets, 2);
  const [padded, ...rest] = seg.flush(77);
  assert.equal(rest.length, 0);
  assert.ok(padded);
  assert.equal(padded.timestampMs, 77);
  const packets = packetsOf([padded]);
  assert.deepEqual(packets.slice(0, 2), good.slice(0, 2));
  assert.ok(packets.slice(2).every((p) => p.equals(NULL_PACKET)));
  assert.deepEqual([...NULL_PACKET.subarray(0, 5)], [0x47, 0x1f, 0xff, 0x10, 0xff]);
  assert.equal(seg.flush(78).length, 0);
  // The packet that was split across the flush is still whole afterwards.
  const after = seg.push(Buffer.concat([stream.subarray(2 * P + 50), ...numbered(4)]), 80);
  assert.equal(after.length, 1);
  assert.deepEqual(packetsOf(after)[0], good[2]);
});

test('rapOffset steps back to the PAT written right before a keyframe', () => {
  const seg = new Segmenter({ packetsPerPiece: 10 });
  const stream = [pesData(AUDIO_PID), pesData(VIDEO_PID), ...tables(), pesStart(VIDEO_PID, true), ...numbered(5)];
  const [piece] = seg.push(Buffer.concat(stream), 0);
  assert.equal(piece?.rapOffset, 2 * P);
  assert.equal(pidOf(piece.payload.subarray(2 * P)), 0);
});

test('a keyframe with no PAT just before it in the piece starts at the keyframe itself', () => {
  const seg = new Segmenter({ packetsPerPiece: 10 });
  const first = [...tables(), ...numbered(5), pesStart(VIDEO_PID, true), ...numbered(2)]; // PAT 7 packets back
  const second = [...numbered(8), pat(PMT_PID), pmt(PMT_PID, [{ type: 0x1b, pid: VIDEO_PID }])]; // PAT at the end of the piece…
  const third = [pesStart(VIDEO_PID, true), ...numbered(9)]; // …keyframe at the start of the next
  const pieces = seg.push(Buffer.concat([...first, ...second, ...third]), 0);
  assert.deepEqual(pieces.map((p) => p.rapOffset), [7 * P, null, 0]);
});

test('no random access point before PAT and PMT are known; audio and non-keyframes are not RAPs', () => {
  const seg = new Segmenter({ packetsPerPiece: 4 });
  const pieces = seg.push(
    Buffer.concat([
      pesStart(VIDEO_PID, true), ...numbered(3), // before PAT/PMT
      ...tables(), pesStart(AUDIO_PID, true), pesStart(VIDEO_PID, false), // audio has the flag too, video frame isn't key
      pesData(VIDEO_PID), pesStart(VIDEO_PID, true), pesStart(VIDEO_PID, true), pesData(VIDEO_PID), // first key only
    ]),
    0,
  );
  assert.deepEqual(pieces.map((p) => p.rapOffset), [null, null, 1 * P]);
});

test('HEVC and MPEG-2 video streams are recognised', () => {
  for (const type of [0x24, 0x02]) {
    const seg = new Segmenter({ packetsPerPiece: 4 });
    const [piece] = seg.push(Buffer.concat([...tables(type), pesStart(VIDEO_PID, true), pesData(VIDEO_PID)]), 0);
    assert.equal(piece?.rapOffset, 0, `stream type ${type}`);
  }
  const seg = new Segmenter({ packetsPerPiece: 4 });
  const [piece] = seg.push(Buffer.concat([...tables(0x0f), pesStart(VIDEO_PID, true), pesData(VIDEO_PID)]), 0);
  assert.equal(piece?.rapOffset, null, 'an audio-only PMT has no video to start on');
});

test('bad options are refused', () => {
  assert.throws(() => new Segmenter({ packetsPerPiece: 0 }), RangeError);
  assert.throws(() => new Segmenter({ packetsPerPiece: 70_000 }), RangeError);
  assert.throws(() => new Segmenter({ packetsPerPiece: 3, firstSeq: -1 }), RangeError);
});
