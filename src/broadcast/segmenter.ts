/**
 * The segmenter cuts a byte stream into live pieces of exactly packetsPerPiece
 * TS packets and marks where a viewer may start playing. It is pure: no
 * timers, no I/O; the caller passes the time and decides when to flush.
 *
 * Bytes between packets that are not a packet (a damaged feed, a stream joined
 * mid-packet) are dropped and counted; sync is regained on a 0x47 confirmed by
 * another 0x47 one packet later, so a stray 0x47 in garbage doesn't fool it.
 */
import { TS_PACKET } from '../core/config.js';
import {
  NULL_PACKET,
  NULL_PID,
  PAT_PID,
  SYNC_BYTE,
  packetPid,
  parsePat,
  parsePmtVideoPid,
  payloadUnitStart,
  randomAccessIndicator,
} from './ts-packets.js';

export interface PieceFields {
  seq: number;
  timestampMs: number;
  /** Byte offset in payload where a player can start (a PAT, then PMT, then a keyframe), or null. */
  rapOffset: number | null;
  payload: Buffer;
}

export interface SegmenterOptions {
  packetsPerPiece: number;
  firstSeq?: number;
}

/** ffmpeg writes PAT, PMT (and sometimes SDT) right before a keyframe; further back isn't "right before". */
const PAT_LOOKBACK_PACKETS = 4;
const MAX_PACKETS_PER_PIECE = 0xffff;

export class Segmenter {
  readonly packetsPerPiece: number;
  private seq: number;
  private carry: Buffer = Buffer.alloc(0);
  private synced = false;
  private piece: Buffer;
  private count = 0;
  private rapIndex: number | null = null;
  private lastPatIndex: number | null = null;
  /** Packets since that PAT, not counting null packets (a -muxrate stream pads with them anywhere). */
  private sincePat = 0;
  private pmtPid: number | null = null;
  private videoPid: number | null = null;
  private dropped = 0;

  constructor(opts: SegmenterOptions) {
    const { packetsPerPiece, firstSeq = 0 } = opts;
    if (!Number.isInteger(packetsPerPiece) || packetsPerPiece < 1 || packetsPerPiece > MAX_PACKETS_PER_PIECE) {
      throw new RangeError(`packetsPerPiece must be an integer in 1..${MAX_PACKETS_PER_PIECE}, got ${packetsPerPiece}`);
    }
    if (!Number.isSafeInteger(firstSeq) || firstSeq < 0) {
      throw new RangeError(`firstSeq must be a non-negative integer, got ${firstSeq}`);
    }
    this.packetsPerPiece = packetsPerPiece;
    this.seq = firstSeq;
    this.piece = Buffer.allocUnsafe(packetsPerPiece * TS_PACKET);
  }

  /** Bytes skipped so far because they were not part of a TS packet. */
  get droppedBytes(): number {
    return this.dropped;
  }

  /** Packets waiting in the piece being filled. */
  get pendingPackets(): number {
    return this.count;
  }

  /** The sequence number the next piece will get. */
  get nextSeq(): number {
    return this.seq;
  }

  push(chunk: Buffer, nowMs: number): PieceFields[] {
    const data = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
    const out: PieceFields[] = [];
    let pos = 0;
    while (pos < data.length) {
      if (!this.synced) {
        const found = this.findSync(data, pos);
        this.dropped += found.at - pos;
        pos = found.at;
        if (!found.confirmed) break;
        this.synced = true;
      }
      if (data.length - pos < TS_PACKET) break;
      if (data[pos] !== SYNC_BYTE) {
        this.synced = false;
        continue;
      }
      const piece = this.addPacket(data.subarray(pos, pos + TS_PACKET), nowMs);
      if (piece) out.push(piece);
      pos += TS_PACKET;
    }
    // Copy: a leftover view would pin the caller's whole chunk in memory.
    this.carry = Buffer.from(data.subarray(pos));
    return out;
  }

  /** Completes the partial piece with null packets; a partial packet stays for the next push. */
  flush(nowMs: number): PieceFields[] {
    if (this.count === 0) return [];
    while (this.count < this.packetsPerPiece) {
      NULL_PACKET.copy(this.piece, this.count * TS_PACKET);
      this.count++;
    }
    return [this.emit(nowMs)];
  }

  /**
   * First offset from pos where a packet starts: a sync byte with another one
   * a packet later. Unconfirmed when the data ends before the check can be made.
   */
  private findSync(data: Buffer, pos: number): { at: number; confirmed: boolean } {
    for (let i = data.indexOf(SYNC_BYTE, pos); i !== -1; i = data.indexOf(SYNC_BYTE, i + 1)) {
      if (i + TS_PACKET >= data.length) return { at: i, confirmed: false };
      if (data[i + TS_PACKET] === SYNC_BYTE) return { at: i, confirmed: true };
    }
    return { at: data.length, confirmed: false };
  }

  private addPacket(packet: Buffer, nowMs: number): PieceFields | null {
    const index = this.count;
    packet.copy(this.piece, index * TS_PACKET);
    this.count++;
    this.inspect(packet, index);
    return this.count === this.packetsPerPiece ? this.emit(nowMs) : null;
  }

  private inspect(packet: Buffer, index: number): void {
    const pid = packetPid(packet);
    if (pid === NULL_PID) return;
    this.sincePat++;
    if (pid === PAT_PID) {
      const pmtPid = parsePat(packet);
      if (pmtPid === null) return;
      if (pmtPid !== this.pmtPid) {
        this.pmtPid = pmtPid;
        this.videoPid = null;
      }
      this.lastPatIndex = index;
      this.sincePat = 0;
    } else if (pid === this.pmtPid) {
      const videoPid = parsePmtVideoPid(packet);
      if (videoPid !== null) this.videoPid = videoPid;
    } else if (pid === this.videoPid && this.rapIndex === null && payloadUnitStart(packet) && randomAccessIndicator(packet)) {
      const patJustBefore = this.lastPatIndex !== null && this.sincePat <= PAT_LOOKBACK_PACKETS;
      this.rapIndex = patJustBefore ? this.lastPatIndex : index;
    }
  }

  private emit(nowMs: number): PieceFields {
    const fields: PieceFields = {
      seq: this.seq++,
      timestampMs: nowMs,
      rapOffset: this.rapIndex === null ? null : this.rapIndex * TS_PACKET,
      payload: this.piece,
    };
    this.piece = Buffer.allocUnsafe(this.packetsPerPiece * TS_PACKET);
    this.count = 0;
    this.rapIndex = null;
    this.lastPatIndex = null;
    return fields;
  }
}
