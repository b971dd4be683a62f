/**
 * The BitTorrent peer wire (BEP 3 with the BEP 10 extension protocol) as a
 * byte-in/byte-out object with no socket inside: feed received bytes to
 * `receive()`, write whatever it emits as `'data'` to the socket. Two wires
 * piped to each other talk in memory.
 *
 * Parsing is an incremental state machine: each state waits for N bytes and
 * hands them to the next parser. The first ProtocolError is emitted as
 * `'error'` and parsing stops for good (sending still works until destroy()).
 *
 * Extension protocols (BEP 10) plug in by name with use(), in the shape of
 * bittorrent-protocol's: the wire numbers them in our extended handshake's
 * `m`, reads the remote's `m`, routes each incoming extension message to its
 * extension and sends by name with the id the remote chose. gc_live
 * (live-extension.ts) is one; a message for an extension nobody plugged in is
 * surfaced as `'extended'` and otherwise ignored.
 *
 * Unknown message ids are surfaced as `'unknown'` and otherwise ignored, as
 * BEP 3 asks, so a stock client's DHT `port` or fast-extension messages do not
 * end a connection. Piece indexes are u32; in gatecast they are absolute live
 * sequence numbers.
 */
import { EventEmitter } from 'node:events';
import { ProtocolError } from '../core/errors.js';
import { bdecodeDict, bencode, type BDict, type BEncodable } from './wire-bencode.js';
import { WireExtensions, type Handshake, type WireExtension } from './wire-extensions.js';
export type { Handshake } from './wire-extensions.js';

export type { WireExtension } from './wire-extensions.js';

export const PROTOCOL_NAME = 'BitTorrent protocol';
export const HANDSHAKE_BYTES = 68;
/** Largest message body accepted: a 1 MiB block plus the piece header. */
export const MAX_MESSAGE_BYTES = 1024 * 1024 + 13;
/** Largest block a peer may request. */
export const MAX_REQUEST_BYTES = 128 * 1024;
const U32_MAX = 0xffffffff;

export const MessageId = {
  choke: 0,
  unchoke: 1,
  interested: 2,
  notInterested: 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  extended: 20,
} as const;

/** BEP 10 ext id 0 is the extended handshake; other ids are the receiver's own numbering. */
export const EXTENDED_HANDSHAKE_ID = 0;


export interface BlockRequest {
  index: number;
  begin: number;
  length: number;
}

export interface BlockData {
  index: number;
  begin: number;
  block: Buffer;
}

export interface WireEvents {
  /** Bytes to write to the socket. */
  data: [bytes: Buffer];
  handshake: [handshake: Handshake];
  'keep-alive': [];
  choke: [];
  unchoke: [];
  interested: [];
  'not-interested': [];
  have: [index: number];
  bitfield: [bits: Buffer];
  request: [request: BlockRequest];
  piece: [piece: BlockData];
  cancel: [request: BlockRequest];
  'extended-handshake': [dict: BDict];
  extended: [extId: number, payload: Buffer];
  unknown: [id: number, payload: Buffer];
  error: [err: ProtocolError];
}

type Parser = (bytes: Buffer) => void;

export class Wire extends EventEmitter<WireEvents> {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = 1;
  private parser: Parser = (b) => this.onProtocolLength(b);
  /** Set by destroy(): nothing is parsed or sent any more. */
  private stopped = false;
  /** Set by a parse error: nothing more is parsed, but the owner may still send (say, a goodbye). */
  private broken = false;
  private paused = false;
  private readonly extensions = new WireExtensions();

  /** Plugs in an extension; returns the id our extended handshake gives it. */
  use(ext: WireExtension): number {
    return this.extensions.use(ext);
  }

  /** Whether the remote's extended handshake named this extension (with an id other than 0, which turns it off). */
  remoteSupports(name: string): boolean {
    return this.extensions.remoteId(name) !== undefined;
  }

  /** Feeds bytes read from the socket. Ignored once the wire is destroyed. */
  receive(chunk: Buffer): void {
    if (this.stopped || this.broken || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.drain();
  }

  /**
   * Stops dispatching after the current message; bytes keep buffering. Lets an
   * owner finish async work (a token check) before later messages are seen.
   */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.drain();
  }

  /** Stops parsing and drops buffered bytes; nothing more is emitted. */
  destroy(): void {
    this.stopped = true;
    this.chunks = [];
    this.buffered = 0;
  }

  get destroyed(): boolean {
    return this.stopped;
  }

  // --- sending -------------------------------------------------------------

  handshake(infoHash: Buffer, peerId: Buffer, opts: { extended?: boolean } = {}): void {
    if (infoHash.length !== 20) throw new RangeError('info hash must be 20 bytes');
    if (peerId.length !== 20) throw new RangeError('peer id must be 20 bytes');
    const reserved = Buffer.alloc(8);
    if (opts.extended ?? true) reserved[5] = 0x10;
    const name = Buffer.from(PROTOCOL_NAME, 'latin1');
    this.push(Buffer.concat([Buffer.from([name.length]), name, reserved, infoHash, peerId]));
  }

  keepAlive(): void {
    this.push(Buffer.alloc(4));
  }

  choke(): void {
    this.message(MessageId.choke);
  }

  unchoke(): void {
    this.message(MessageId.unchoke);
  }

  interested(): void {
    this.message(MessageId.interested);
  }

  notInterested(): void {
    this.message(MessageId.notInterested);
  }

  have(index: number): void {
    this.message(MessageId.have, u32s(['index', index]));
  }

  bitfield(bits: Buffer): void {
    this.message(MessageId.bitfield, bits);
  }

  request(index: number, begin: number, length: number): void {
    checkBlockLength(length);
    this.message(MessageId.request, u32s(['index', index], ['begin', begin], ['length', length]));
  }

  piece(index: number, begin: number, block: Buffer): void {
    if (block.length + 9 > MAX_MESSAGE_BYTES) throw new RangeError(`block of ${block.length} bytes is over the message limit`);
    // Header and block go out as two writes (one writev when the socket is corked): the 16 KiB block is not copied.
    const head = Buffer.allocUnsafe(13);
    head.writeUInt32BE(block.length + 9, 0);
    head.writeUInt8(MessageId.piece, 4);
    head.set(u32s(['index', index], ['begin', begin]), 5);
    this.push(head);
    this.push(block);
  }

  cancel(index: number, begin: number, length: number): void {
    checkBlockLength(length);
    this.message(MessageId.cancel, u32s(['index', index], ['begin', begin], ['length', length]));
  }

  /** Our extended handshake: `dict`, with every extension in use named in its `m`. */
  extendedHandshake(dict: BEncodable): void {
    const full = this.extensions.withOurIds(dict);
    this.message(MessageId.extended, Buffer.concat([Buffer.from([EXTENDED_HANDSHAKE_ID]), bencode(full)]));
  }

  /**
   * An extension message. `ext`: the extension's name (sent with the id the
   * remote gave it; nothing is sent, and false returned, when the remote does
   * not speak it), or the receiver's id itself.
   */
  extended(ext: number | string, payload: Buffer): boolean {
    const extId = typeof ext === 'number' ? ext : this.extensions.remoteId(ext);
    if (extId === undefined) return false;
    if (!Number.isInteger(extId) || extId < 1 || extId > 255) throw new RangeError(`extension id ${extId} is not 1..255`);
    this.message(MessageId.extended, Buffer.concat([Buffer.from([extId]), payload]));
    return true;
  }


  private message(id: number, payload: Buffer = Buffer.alloc(0)): void {
    const head = Buffer.alloc(5);
    head.writeUInt32BE(payload.length + 1, 0);
    head.writeUInt8(id, 4);
    this.push(payload.length > 0 ? Buffer.concat([head, payload]) : head);
  }

  private push(bytes: Buffer): void {
    if (this.stopped) return;
    this.emit('data', bytes);
  }

  // --- parsing -------------------------------------------------------------

  private drain(): void {
    while (!this.stopped && !this.broken && !this.paused && this.buffered >= this.need) {
      const bytes = this.take(this.need);
      try {
        this.parser(bytes);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        this.broken = true;
        this.chunks = [];
        this.buffered = 0;
        this.emit('error', err);
      }
    }
  }

  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0];
    if (first && first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0] as Buffer;
      const used = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, used);
      filled += used;
      if (used === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(used);
    }
    return out;
  }

  private expect(n: number, parser: Parser): void {
    this.need = n;
    this.parser = parser;
  }

  private onProtocolLength(b: Buffer): void {
    const len = b.readUInt8(0);
    if (len !== PROTOCOL_NAME.length) {
      throw new ProtocolError(`bad handshake: protocol name length ${len}, expected ${PROTOCOL_NAME.length}`);
    }
    this.expect(len + 48, (rest) => this.onHandshake(rest));
  }

  private onHandshake(b: Buffer): void {
    if (b.toString('latin1', 0, PROTOCOL_NAME.length) !== PROTOCOL_NAME) {
      throw new ProtocolError('bad handshake: protocol name is not "BitTorrent protocol"');
    }
    const at = PROTOCOL_NAME.length;
    const reserved = Buffer.from(b.subarray(at, at + 8));
    const infoHash = Buffer.from(b.subarray(at + 8, at + 28));
    const peerId = Buffer.from(b.subarray(at + 28, at + 48));
    this.expectLength();
    const hs = { infoHash, peerId, reserved, extended: ((reserved[5] ?? 0) & 0x10) !== 0 };
    this.emit('handshake', hs);
    for (const ext of this.extensions.all) ext.onHandshake?.(hs);
  }

  private expectLength(): void {
    this.expect(4, (b) => this.onLength(b));
  }

  private onLength(b: Buffer): void {
    const len = b.readUInt32BE(0);
    if (len === 0) {
      this.emit('keep-alive');
      return;
    }
    if (len > MAX_MESSAGE_BYTES) throw new ProtocolError(`message too long: ${len} bytes (max ${MAX_MESSAGE_BYTES})`);
    this.expect(len, (m) => this.onMessage(m));
  }

  private onMessage(m: Buffer): void {
    this.expectLength();
    const id = m.readUInt8(0);
    const p = m.subarray(1);
    switch (id) {
      case MessageId.choke:
        return this.emitEmpty('choke', p);
      case MessageId.unchoke:
        return this.emitEmpty('unchoke', p);
      case MessageId.interested:
        return this.emitEmpty('interested', p);
      case MessageId.notInterested:
        return this.emitEmpty('not-interested', p);
      case MessageId.have:
        sized('have', p, 4);
        this.emit('have', p.readUInt32BE(0));
        return;
      case MessageId.bitfield:
        this.emit('bitfield', p);
        return;
      case MessageId.request:
        this.emit('request', parseRequest('request', p));
        return;
      case MessageId.cancel:
        this.emit('cancel', parseRequest('cancel', p));
        return;
      case MessageId.piece:
        if (p.length < 8) throw new ProtocolError(`piece: payload must be at least 8 bytes, got ${p.length}`);
        this.emit('piece', { index: p.readUInt32BE(0), begin: p.readUInt32BE(4), block: p.subarray(8) });
        return;
      case MessageId.extended:
        return this.onExtended(p);
      default:
        this.emit('unknown', id, p);
    }
  }

  private emitEmpty(name: 'choke' | 'unchoke' | 'interested' | 'not-interested', p: Buffer): void {
    sized(name, p, 0);
    this.emit(name);
  }

  private onExtended(p: Buffer): void {
    const extId = p[0];
    if (extId === undefined) throw new ProtocolError('extended: message without an extension id');
    if (extId === EXTENDED_HANDSHAKE_ID) {
      const dict = bdecodeDict(p.subarray(1), 'extended handshake');
      this.extensions.readRemoteIds(dict);
      this.emit('extended-handshake', dict);
      for (const ext of this.extensions.all) ext.onExtendedHandshake?.(dict);
      return;
    }
    const ext = this.extensions.local(extId);
    if (ext) ext.onMessage(p.subarray(1));
    else this.emit('extended', extId, p.subarray(1));
  }
}

function sized(name: string, p: Buffer, n: number): void {
  if (p.length !== n) throw new ProtocolError(`${name}: payload must be ${n} bytes, got ${p.length}`);
}

function parseRequest(name: string, p: Buffer): BlockRequest {
  sized(name, p, 12);
  const length = p.readUInt32BE(8);
  if (length === 0 || length > MAX_REQUEST_BYTES) {
    throw new ProtocolError(`${name}: block length ${length} out of range (1..${MAX_REQUEST_BYTES})`);
  }
  return { index: p.readUInt32BE(0), begin: p.readUInt32BE(4), length };
}

function checkBlockLength(length: number): void {
  if (!Number.isInteger(length) || length < 1 || length > MAX_REQUEST_BYTES) {
    throw new RangeError(`block length ${length} out of range (1..${MAX_REQUEST_BYTES})`);
  }
}

function u32s(...fields: [name: string, value: number][]): Buffer {
  const out = Buffer.alloc(fields.length * 4);
  fields.forEach(([name, value], i) => {
    if (!Number.isInteger(value) || value < 0 || value > U32_MAX) throw new RangeError(`${name} ${value} is not a u32`);
    out.writeUInt32BE(value, i * 4);
  });
  return out;
}
