/**
 * The broadcaster's segmenter (src/broadcast/segmenter.ts) and the TS packet
 * readers under it (src/broadcast/ts-packets.ts): the bytes of a feed the
 * operator does not fully control (a file, stdin, an encoder).
 */
import fc from 'fast-check';
import { TS_PACKET } from '../../src/core/config.js';
import { Segmenter, type PieceFields } from '../../src/broadcast/segmenter.js';
import {
  NULL_PACKET,
  PAT_PID,
  SYNC_BYTE,
  packetPid,
  parsePat,
  parsePmtVideoPid,
  payloadOffset,
  payloadUnitStart,
  randomAccessIndicator,
} from '../../src/broadcast/ts-packets.js';
import { AUDIO_PID, pat, pesData, pesStart, pmt } from '../broadcast/ts-builder.js';
import { chunksOf, ContractBroken, expect, mutated, pureRun, timed, type FuzzTarget } from './harness.js';

const pid13 = fc.integer({ min: 1, max: 0x1ffe });

/** One TS packet: tables, video and audio PES, null packets, or a random packet with a sync byte. */
const tsPacket = (pmtPid: number, videoPid: number): fc.Arbitrary<Buffer> =>
  fc.oneof(
    fc.constant(pat(pmtPid)),
    fc.constantFrom(0x1b, 0x24, 0x02, 0x0f).map((type) => pmt(pmtPid, [{ type, pid: videoPid }, { type: 0x0f, pid: AUDIO_PID }])),
    fc.boolean().map((key) => pesStart(videoPid, key)),
    fc.nat(0xffff).map((tag) => pesData(videoPid, tag)),
    fc.nat(0xffff).map((tag) => pesData(AUDIO_PID, tag)),
    fc.constant(NULL_PACKET),
    fc.uint8Array({ minLength: TS_PACKET, maxLength: TS_PACKET }).map((u) => {
      const p = Buffer.from(u);
      p[0] = SYNC_BYTE;
      return p;
    }),
  );

const validTs: fc.Arbitrary<Buffer> = fc
  .tuple(pid13, pid13)
  .chain(([pmtPid, videoPid]) => fc.array(tsPacket(pmtPid, videoPid), { maxLength: 24 }))
  .map((packets) => Buffer.concat(packets));

interface SegCase {
  kind: 'valid' | 'mutated' | 'raw' | 'resync';
  bytes: Buffer;
  packetsPerPiece: number;
  firstSeq: number;
  cuts: number[];
  resync?: { packets: Buffer; garbage: number };
}

/** A packet whose bytes after the sync byte hold no 0x47, so a stray sync byte can never be confirmed by one. */
function scrubbed(p: Buffer): Buffer {
  const q = Buffer.from(p);
  for (let i = 1; i < q.length; i++) if (q[i] === SYNC_BYTE) q[i] = 0x46;
  return q;
}

/**
 * Valid packets with one blob of garbage (under a packet long, holding at most
 * one stray 0x47 that no packet start lines up with) before one of them: the segmenter must drop exactly the
 * garbage and cut the packets unchanged. One exception by design: before the
 * first sync a packet counts only when another sync byte follows it one packet
 * later, so garbage right after the first packet costs that packet too.
 */
const resyncTs: fc.Arbitrary<{ bytes: Buffer; packets: Buffer; garbage: number }> = fc
  .tuple(
    fc.tuple(pid13, pid13).chain(([pmtPid, videoPid]) => fc.array(tsPacket(pmtPid, videoPid).map(scrubbed), { minLength: 2, maxLength: 16 })),
    fc.nat(),
    fc.uint8Array({ minLength: 2, maxLength: TS_PACKET - 1 }),
    fc.option(fc.nat()),
  )
  .map(([packets, at, raw, stray]) => {
    const garbage = Buffer.from(raw.map((b) => (b === SYNC_BYTE ? 0x46 : b)));
    // Not at 0: a sync byte exactly one packet after a packet start is one; and not at the end: trailing bytes wait.
    if (stray !== null) garbage[1 + (stray % (garbage.length - 1))] = SYNC_BYTE;
    const cut = at % packets.length;
    const lost = cut === 1 ? 1 : 0;
    return {
      bytes: Buffer.concat([...packets.slice(0, cut), garbage, ...packets.slice(cut)]),
      packets: Buffer.concat(packets.slice(lost)),
      garbage: garbage.length + lost * TS_PACKET,
    };
  });

const segCase: fc.Arbitrary<SegCase> = fc.record({
  kind: fc.constantFrom('valid', 'mutated', 'raw', 'resync'),
  packetsPerPiece: fc.integer({ min: 1, max: 8 }),
  firstSeq: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER - 100)),
  cuts: fc.array(fc.nat(), { maxLength: 10 }),
}).chain((base) => {
  if (base.kind === 'resync') return resyncTs.map((r) => ({ ...base, bytes: r.bytes, resync: r }));
  const bytes =
    base.kind === 'valid'
      ? validTs
      : base.kind === 'mutated'
        ? mutated(validTs, 6)
        : fc.uint8Array({ maxLength: 1200 }).map((u) => Buffer.from(u));
  return bytes.map((b): SegCase => ({ ...base, bytes: b }));
});

interface Outcome {
  pieces: PieceFields[];
  dropped: number;
  /** Packets taken from the input (before flush padded the last piece). */
  packets: number;
}

const NOW = 1_700_000_000_000;

function segment(c: SegCase, chunks: Buffer[]): Outcome {
  const seg = new Segmenter({ packetsPerPiece: c.packetsPerPiece, firstSeq: c.firstSeq });
  const pieces: PieceFields[] = [];
  try {
    for (const chunk of chunks) pieces.push(...seg.push(chunk, NOW));
    const packets = pieces.length * c.packetsPerPiece + seg.pendingPackets;
    pieces.push(...seg.flush(NOW));
    return { pieces, dropped: seg.droppedBytes, packets };
  } catch (err) {
    throw new ContractBroken(`segmenter threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, { cause: err });
  }
}

function checkPieces(c: SegCase, o: Outcome): void {
  const size = c.packetsPerPiece * TS_PACKET;
  o.pieces.forEach((p, i) => {
    expect(p.seq === c.firstSeq + i, `piece ${i} has seq ${p.seq}`);
    expect(p.timestampMs === NOW, 'timestamp changed');
    expect(p.payload.length === size, `piece of ${p.payload.length} bytes, want ${size}`);
    for (let at = 0; at < size; at += TS_PACKET) expect(p.payload[at] === SYNC_BYTE, `packet at ${at} of piece ${i} has no sync byte`);
    if (p.rapOffset !== null) {
      expect(p.rapOffset % TS_PACKET === 0 && p.rapOffset >= 0 && p.rapOffset < size, `rapOffset ${p.rapOffset}`);
      const packet = p.payload.subarray(p.rapOffset, p.rapOffset + TS_PACKET);
      // A start point is a PAT (tables then keyframe) or a keyframe's first packet.
      expect(packetPid(packet) === PAT_PID || (payloadUnitStart(packet) && randomAccessIndicator(packet)), 'rapOffset is neither a PAT nor a keyframe start');
    }
  });
  // Every input byte is dropped, cut into a piece, or (at most one packet's worth) still waiting.
  const waiting = c.bytes.length - o.dropped - o.packets * TS_PACKET;
  expect(waiting >= 0 && waiting <= TS_PACKET, `bytes unaccounted for: ${waiting}`);
  expect(o.pieces.length === Math.ceil(o.packets / c.packetsPerPiece), 'pieces and packets disagree');
}

function checkPacketReaders(p: Buffer): void {
  const pid = packetPid(p);
  expect(Number.isInteger(pid) && pid >= 0 && pid <= 0x1fff, `pid ${pid}`);
  const off = payloadOffset(p);
  expect(off === null || (off >= 4 && off < TS_PACKET), `payload offset ${off}`);
  for (const found of [parsePat(p), parsePmtVideoPid(p)]) expect(found === null || (found >= 0 && found <= 0x1fff), `table pid ${found}`);
  expect(typeof randomAccessIndicator(p) === 'boolean' && typeof payloadUnitStart(p) === 'boolean', 'flags not booleans');
}

const same = (a: Outcome, b: Outcome): boolean =>
  a.dropped === b.dropped &&
  a.packets === b.packets &&
  a.pieces.length === b.pieces.length &&
  a.pieces.every((p, i) => {
    const q = b.pieces[i] as PieceFields;
    return p.seq === q.seq && p.rapOffset === q.rapOffset && p.payload.equals(q.payload);
  });

const checkCase = timed((c: SegCase): void => {
  const whole = segment(c, [c.bytes]);
  checkPieces(c, whole);
  const chunked = segment(c, chunksOf(c.bytes, c.cuts));
  expect(same(whole, chunked), 'pieces depend on how the feed was chunked');
  if (c.kind === 'valid') {
    expect(whole.dropped === 0, `valid TS lost ${whole.dropped} bytes`);
    const out = Buffer.concat(whole.pieces.map((p) => p.payload));
    expect(out.subarray(0, whole.packets * TS_PACKET).equals(c.bytes.subarray(0, whole.packets * TS_PACKET)), 'valid TS came out changed');
  }
  if (c.resync) {
    expect(whole.dropped === c.resync.garbage, `dropped ${whole.dropped} bytes around ${c.resync.garbage} bytes of garbage`);
    const out = Buffer.concat(whole.pieces.map((p) => p.payload));
    const n = whole.packets * TS_PACKET;
    // The packet right after the garbage waits for the next one to confirm it, so the last may still be pending.
    expect(n >= c.resync.packets.length - TS_PACKET && out.subarray(0, n).equals(c.resync.packets.subarray(0, n)), 'packets around garbage came out changed');
  }
  for (let at = 0; at + TS_PACKET <= c.bytes.length; at += TS_PACKET) checkPacketReaders(c.bytes.subarray(at, at + TS_PACKET));
});

export const segmenterTarget: FuzzTarget = {
  name: 'segmenter',
  checks:
    'Segmenter.push/flush on valid, mutated (flips, truncations, inserts, deletes) and raw MPEG-TS in random chunks with 1..8 packets per piece: never throws; pieces of exactly N packets each starting 0x47, consecutive seqs, rapOffset on a PAT or keyframe start; every byte dropped, cut or waiting (≤ 188); same pieces however the feed is chunked; valid TS passes unchanged with nothing dropped; garbage (under a packet long, with a stray 0x47) between valid packets is dropped byte for byte and the packets pass unchanged; ts-packets readers answer in range on every 188-byte window',
  testRuns: 1500,
  open: async () => pureRun(fc.property(segCase, (c) => checkCase(c))),
};
