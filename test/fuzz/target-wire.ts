/**
 * The peer wire's incremental parser (src/protocol/wire.ts): a handshake and a
 * stream of BEP 3 / BEP 10 messages, valid, mutated or raw, fed in random
 * chunks.
 */
import fc from 'fast-check';
import { ProtocolError } from '../../src/core/errors.js';
import { MAX_MESSAGE_BYTES, MAX_REQUEST_BYTES, MessageId, Wire } from '../../src/protocol/wire.js';
import { bencode, isBDict, type BEncodable } from '../../src/protocol/wire-bencode.js';
import { bencodable } from './target-bencode.js';
import { chunksOf, ContractBroken, expect, mutated, pureRun, timed, type FuzzTarget } from './harness.js';

type WireMsg =
  | { k: 'keep-alive' | 'choke' | 'unchoke' | 'interested' | 'not-interested' }
  | { k: 'have'; index: number }
  | { k: 'bitfield'; bits: Buffer }
  | { k: 'request' | 'cancel'; index: number; begin: number; length: number }
  | { k: 'piece'; index: number; begin: number; block: Buffer }
  | { k: 'extended-handshake'; dict: { [key: string]: BEncodable } }
  | { k: 'extended'; extId: number; payload: Buffer };

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength: max }).map((u) => Buffer.from(u));

const wireMsg: fc.Arbitrary<WireMsg> = fc.oneof(
  fc.constantFrom('keep-alive', 'choke', 'unchoke', 'interested', 'not-interested').map((k) => ({ k }) as WireMsg),
  u32.map((index) => ({ k: 'have', index }) as WireMsg),
  bytes(16).map((bits) => ({ k: 'bitfield', bits }) as WireMsg),
  fc.record({ k: fc.constantFrom('request' as const, 'cancel' as const), index: u32, begin: u32, length: fc.integer({ min: 1, max: MAX_REQUEST_BYTES }) }),
  fc.record({ k: fc.constant('piece' as const), index: u32, begin: u32, block: bytes(48) }),
  fc.dictionary(fc.string({ unit: 'binary-ascii', maxLength: 8 }), bencodable, { maxKeys: 4 }).map((dict) => ({ k: 'extended-handshake', dict }) as WireMsg),
  fc.record({ k: fc.constant('extended' as const), extId: fc.integer({ min: 1, max: 255 }), payload: bytes(32) }),
);

const hex = (b: Buffer): string => b.toString('hex');

/** What the sending side put on the wire, as the receiving side must report it. */
function expected(m: WireMsg): string {
  switch (m.k) {
    case 'have':
      return `have ${m.index}`;
    case 'bitfield':
      return `bitfield ${hex(m.bits)}`;
    case 'request':
    case 'cancel':
      return `${m.k} ${m.index} ${m.begin} ${m.length}`;
    case 'piece':
      return `piece ${m.index} ${m.begin} ${hex(m.block)}`;
    case 'extended-handshake':
      return `extended-handshake ${hex(bencode(m.dict))}`;
    case 'extended':
      return `extended ${m.extId} ${hex(m.payload)}`;
    default:
      return m.k;
  }
}

const INFO_HASH = Buffer.alloc(20, 0xab);
const PEER_ID = Buffer.alloc(20, 0xcd);

function encodeStream(msgs: WireMsg[]): Buffer {
  const out: Buffer[] = [];
  const w = new Wire();
  w.on('data', (b) => out.push(Buffer.from(b)));
  w.handshake(INFO_HASH, PEER_ID);
  for (const m of msgs) {
    switch (m.k) {
      case 'keep-alive':
        w.keepAlive();
        break;
      case 'choke':
        w.choke();
        break;
      case 'unchoke':
        w.unchoke();
        break;
      case 'interested':
        w.interested();
        break;
      case 'not-interested':
        w.notInterested();
        break;
      case 'have':
        w.have(m.index);
        break;
      case 'bitfield':
        w.bitfield(m.bits);
        break;
      case 'request':
        w.request(m.index, m.begin, m.length);
        break;
      case 'cancel':
        w.cancel(m.index, m.begin, m.length);
        break;
      case 'piece':
        w.piece(m.index, m.begin, m.block);
        break;
      case 'extended-handshake':
        w.extendedHandshake(m.dict);
        break;
      case 'extended':
        w.extended(m.extId, m.payload);
        break;
    }
  }
  return Buffer.concat(out);
}

const KNOWN_IDS: ReadonlySet<number> = new Set(Object.values(MessageId));

/**
 * Feeds `chunks` to a fresh Wire and logs what it emits, checking each event's
 * shape. The first ProtocolError is the last event; any other exception breaks
 * the contract.
 */
function receiveAll(chunks: Buffer[]): string[] {
  const log: string[] = [];
  const w = new Wire();
  let errored = false;
  const add = (entry: string): void => {
    if (errored) throw new ContractBroken(`"${entry.slice(0, 40)}" emitted after the error`);
    log.push(entry);
  };
  w.on('handshake', (h) => {
    expect(h.infoHash.length === 20 && h.peerId.length === 20 && h.reserved.length === 8, 'handshake fields of the wrong size');
    add(`handshake ${hex(h.infoHash)} ${hex(h.peerId)} ${hex(h.reserved)} ${h.extended}`);
  });
  for (const k of ['keep-alive', 'choke', 'unchoke', 'interested', 'not-interested'] as const) w.on(k, () => add(k));
  w.on('have', (index) => {
    expect(Number.isInteger(index) && index >= 0 && index <= 0xffffffff, `have index ${index}`);
    add(`have ${index}`);
  });
  w.on('bitfield', (bits) => add(`bitfield ${hex(bits)}`));
  for (const k of ['request', 'cancel'] as const) {
    w.on(k, (r) => {
      expect(r.length >= 1 && r.length <= MAX_REQUEST_BYTES, `${k} length ${r.length}`);
      add(`${k} ${r.index} ${r.begin} ${r.length}`);
    });
  }
  w.on('piece', (p) => {
    expect(p.block.length + 9 <= MAX_MESSAGE_BYTES, 'piece block over the message limit');
    add(`piece ${p.index} ${p.begin} ${hex(p.block)}`);
  });
  w.on('extended-handshake', (dict) => {
    expect(isBDict(dict), 'extended handshake is not a dictionary');
    add(`extended-handshake ${hex(bencode(dict))}`);
  });
  w.on('extended', (extId, payload) => {
    expect(extId >= 1 && extId <= 255, `extended id ${extId}`);
    add(`extended ${extId} ${hex(payload)}`);
  });
  w.on('unknown', (id, payload) => {
    expect(!KNOWN_IDS.has(id), `known id ${id} reported as unknown`);
    add(`unknown ${id} ${hex(payload)}`);
  });
  w.on('error', (err) => {
    expect(err instanceof ProtocolError, `error event is ${String(err)}`);
    add(`error ${err.message}`);
    errored = true;
  });
  for (const c of chunks) {
    try {
      w.receive(c);
    } catch (err) {
      throw new ContractBroken(`receive() threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, { cause: err });
    }
  }
  return log;
}

const handshakeEntry = `handshake ${hex(INFO_HASH)} ${hex(PEER_ID)} 0000000000100000 true`;

type WireCase = { mode: 'valid'; msgs: WireMsg[]; cuts: number[] } | { mode: 'mutated' | 'raw'; bytes: Buffer; cuts: number[] };

const cuts = fc.array(fc.nat(), { maxLength: 8 });
const validStream = fc.array(wireMsg, { maxLength: 10 }).map(encodeStream);
const wireCase: fc.Arbitrary<WireCase> = fc.oneof(
  fc.record({ mode: fc.constant('valid' as const), msgs: fc.array(wireMsg, { maxLength: 10 }), cuts }),
  { arbitrary: fc.record({ mode: fc.constant('mutated' as const), bytes: mutated(validStream), cuts }), weight: 3 },
  fc.record({
    mode: fc.constant('raw' as const),
    // Mostly after a good handshake, so the message parser sees the garbage.
    bytes: fc.tuple(fc.boolean(), fc.uint8Array({ maxLength: 200 })).map(([hs, raw]) => Buffer.concat([hs ? encodeStream([]) : Buffer.alloc(0), raw])),
    cuts,
  }),
);

const checkCase = timed((c: WireCase): void => {
  if (c.mode === 'valid') {
    const stream = encodeStream(c.msgs);
    const log = receiveAll(chunksOf(stream, c.cuts));
    const want = [handshakeEntry, ...c.msgs.map(expected)];
    expect(JSON.stringify(log) === JSON.stringify(want), `round trip: sent ${JSON.stringify(want).slice(0, 300)}, received ${JSON.stringify(log).slice(0, 300)}`);
    return;
  }
  const whole = receiveAll([c.bytes]);
  const pieces = receiveAll(chunksOf(c.bytes, c.cuts));
  // The parser is a state machine over bytes: how the bytes were split cannot matter.
  expect(JSON.stringify(whole) === JSON.stringify(pieces), 'the events depend on how the bytes were chunked');
});

export const wireTarget: FuzzTarget = {
  name: 'wire',
  checks:
    'Wire.receive on valid, mutated and raw handshake + message streams cut into random chunks: never throws, every event well-formed, at most one ProtocolError and nothing after it, same events however the bytes are chunked; a sent stream is received message for message',
  testRuns: 2000,
  open: async () => pureRun(fc.property(wireCase, (c) => checkCase(c))),
};
