/**
 * Just enough MPEG-TS (ISO/IEC 13818-1) to find random access points: packet
 * header fields, the PAT (which PID carries the PMT) and the PMT (which PID
 * carries the video). Every reader takes one 188-byte packet and never throws
 * on malformed content: it answers null instead.
 */
import { TS_PACKET } from '../core/config.js';

export const SYNC_BYTE = 0x47;
export const PAT_PID = 0x0000;
export const NULL_PID = 0x1fff;

/** stream_type values that carry video a player can start on: H.264, HEVC, MPEG-2. */
export const VIDEO_STREAM_TYPES: ReadonlySet<number> = new Set([0x1b, 0x24, 0x02]);

/** A null packet: PID 0x1FFF, payload only, stuffed with 0xFF; players discard it. */
export const NULL_PACKET: Buffer = (() => {
  const p = Buffer.alloc(TS_PACKET, 0xff);
  p[0] = SYNC_BYTE;
  p[1] = 0x1f;
  p[2] = 0xff;
  p[3] = 0x10;
  return p;
})();

export function packetPid(p: Buffer): number {
  return ((p[1]! & 0x1f) << 8) | p[2]!;
}

export function payloadUnitStart(p: Buffer): boolean {
  return (p[1]! & 0x40) !== 0;
}

/** Offset of the payload in the packet, or null when the packet carries none. */
export function payloadOffset(p: Buffer): number | null {
  const afc = (p[3]! >> 4) & 0x3;
  if ((afc & 0x1) === 0) return null;
  const start = (afc & 0x2) !== 0 ? 5 + p[4]! : 4;
  return start < TS_PACKET ? start : null;
}

/** The adaptation field's random_access_indicator: ffmpeg sets it on video keyframes. */
export function randomAccessIndicator(p: Buffer): boolean {
  const afc = (p[3]! >> 4) & 0x3;
  if ((afc & 0x2) === 0) return false;
  return p[4]! > 0 && (p[5]! & 0x40) !== 0;
}

/** The PSI section starting in this packet (after the pointer field), or null. */
function sectionStart(p: Buffer, tableId: number): Buffer | null {
  if (!payloadUnitStart(p)) return null;
  const off = payloadOffset(p);
  if (off === null) return null;
  const start = off + 1 + p[off]!;
  if (start + 3 > TS_PACKET || p[start] !== tableId) return null;
  const sectionLength = ((p[start + 1]! & 0x0f) << 8) | p[start + 2]!;
  // Only sections that fit in one packet are read; ffmpeg's single-program PAT and PMT do.
  const end = start + 3 + sectionLength;
  if (end > TS_PACKET || sectionLength < 9) return null;
  return p.subarray(start, end);
}

/** The PMT PID of the first program in a PAT packet, or null. */
export function parsePat(p: Buffer): number | null {
  const s = sectionStart(p, 0x00);
  if (!s) return null;
  for (let i = 8; i + 4 <= s.length - 4; i += 4) {
    const program = (s[i]! << 8) | s[i + 1]!;
    if (program !== 0) return ((s[i + 2]! & 0x1f) << 8) | s[i + 3]!;
  }
  return null;
}

/** The PID of the first video elementary stream in a PMT packet, or null. */
export function parsePmtVideoPid(p: Buffer): number | null {
  const s = sectionStart(p, 0x02);
  if (!s || s.length < 12) return null;
  const programInfoLength = ((s[10]! & 0x0f) << 8) | s[11]!;
  const end = s.length - 4;
  for (let i = 12 + programInfoLength; i + 5 <= end; ) {
    const streamType = s[i]!;
    const pid = ((s[i + 1]! & 0x1f) << 8) | s[i + 2]!;
    if (VIDEO_STREAM_TYPES.has(streamType)) return pid;
    i += 5 + (((s[i + 3]! & 0x0f) << 8) | s[i + 4]!);
  }
  return null;
}
