/**
 * The live piece: a fixed-size run of MPEG-TS packets with a signed header, so
 * any peer verifies any piece alone. Layout (big-endian):
 *
 *   0  u8   version (1)
 *   1  u8   flags (bit 0: the payload holds a random access point)
 *   2  u16  packet count
 *   4  u32  byte offset in the payload of the first random access point (0xFFFFFFFF: none)
 *   8  u64  sequence number (the absolute piece index on the wire)
 *  16  u64  creation time at the source, ms since the epoch
 *  24  64B  Ed25519 signature over "gatecast-piece-v1" | info hash | bytes 0..23 | payload
 *  88  payload: packet count × 188 bytes
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { ProtocolError } from './errors.js';
import { TS_PACKET } from './config.js';
import type { ProgramMetadata } from './types.js';

export const PIECE_HEADER = 88;
export const NO_RAP = 0xffffffff;
const DOMAIN = Buffer.from('gatecast-piece-v1');

export interface LivePiece {
  seq: number;
  timestampMs: number;
  /** Byte offset of the first random access point in the payload, or null. */
  rapOffset: number | null;
  payload: Buffer;
  /** The whole encoded piece as it travels on the wire. */
  bytes: Buffer;
}

export function pieceLength(packetsPerPiece: number): number {
  return PIECE_HEADER + packetsPerPiece * TS_PACKET;
}

/** Milliseconds of stream one piece holds at the program's nominal bitrate. */
export function pieceIntervalMs(md: Pick<ProgramMetadata, 'packets_per_piece' | 'bitrate_bps'>): number {
  return (md.packets_per_piece * TS_PACKET * 8 * 1000) / md.bitrate_bps;
}

function signedPart(infoHash: Buffer, header: Buffer, payload: Buffer): Buffer {
  return Buffer.concat([DOMAIN, infoHash, header.subarray(0, 24), payload]);
}

export function encodePiece(
  fields: { seq: number; timestampMs: number; rapOffset: number | null; payload: Buffer },
  infoHash: Buffer,
  sourceKey: KeyObject,
): LivePiece {
  const { payload } = fields;
  if (payload.length === 0 || payload.length % TS_PACKET !== 0) {
    throw new RangeError(`piece payload must be a whole number of TS packets, got ${payload.length} bytes`);
  }
  const header = Buffer.alloc(PIECE_HEADER);
  header.writeUInt8(1, 0);
  header.writeUInt8(fields.rapOffset === null ? 0 : 1, 1);
  header.writeUInt16BE(payload.length / TS_PACKET, 2);
  header.writeUInt32BE(fields.rapOffset ?? NO_RAP, 4);
  header.writeBigUInt64BE(BigInt(fields.seq), 8);
  header.writeBigUInt64BE(BigInt(fields.timestampMs), 16);
  sign(null, signedPart(infoHash, header, payload), sourceKey).copy(header, 24);
  const bytes = Buffer.concat([header, payload]);
  return { ...fields, bytes };
}

/** Parses and verifies a piece; throws ProtocolError on any mismatch. */
export function decodePiece(bytes: Buffer, expectedSeq: number, infoHash: Buffer, sourcePublicKey: KeyObject): LivePiece {
  if (bytes.length < PIECE_HEADER + TS_PACKET) throw new ProtocolError(`piece ${expectedSeq}: too short (${bytes.length} bytes)`);
  const version = bytes.readUInt8(0);
  if (version !== 1) throw new ProtocolError(`piece ${expectedSeq}: unknown version ${version}`);
  const packets = bytes.readUInt16BE(2);
  if (bytes.length !== PIECE_HEADER + packets * TS_PACKET) throw new ProtocolError(`piece ${expectedSeq}: length does not match its packet count`);
  const seq = Number(bytes.readBigUInt64BE(8));
  if (seq !== expectedSeq) throw new ProtocolError(`piece ${expectedSeq}: header names piece ${seq}`);
  const rapRaw = bytes.readUInt32BE(4);
  const payload = bytes.subarray(PIECE_HEADER);
  if (rapRaw !== NO_RAP && rapRaw >= payload.length) throw new ProtocolError(`piece ${expectedSeq}: random access point outside the payload`);
  const signature = bytes.subarray(24, 88);
  if (!verify(null, signedPart(infoHash, bytes, payload), sourcePublicKey, signature)) {
    throw new ProtocolError(`piece ${expectedSeq}: bad signature`);
  }
  return {
    seq,
    timestampMs: Number(bytes.readBigUInt64BE(16)),
    rapOffset: rapRaw === NO_RAP ? null : rapRaw,
    payload,
    bytes,
  };
}

/** Raw 32-byte Ed25519 public key (base64url) → KeyObject. */
export function ed25519PublicKey(rawB64url: string): KeyObject {
  const raw = Buffer.from(rawB64url, 'base64url');
  if (raw.length !== 32) throw new ProtocolError('an Ed25519 public key is 32 bytes');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

export function ed25519PrivateKey(pkcs8B64url: string): KeyObject {
  return createPrivateKey({ key: Buffer.from(pkcs8B64url, 'base64url'), format: 'der', type: 'pkcs8' });
}

export function rawPublicKey(key: KeyObject): string {
  const pub = key.type === 'public' ? key : createPublicKey(key);
  const jwk = pub.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new RangeError('not an Ed25519 key');
  return jwk.x;
}
