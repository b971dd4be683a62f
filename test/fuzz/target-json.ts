/**
 * The JSON frame codecs (src/protocol/json-messages.ts) of the tracker channel
 * (src/protocol/tracker-channel.ts) and the control link
 * (src/protocol/control-link.ts): every WebSocket frame a client, tracker or
 * control server receives goes through one of these four.
 */
import fc from 'fast-check';
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ProtocolError } from '../../src/core/errors.js';
import { MAX_JSON_FRAME, type MessageCodec } from '../../src/protocol/json-messages.js';
import { ControlToTracker, TrackerToControl, controlToTracker, trackerToControl } from '../../src/protocol/control-link.js';
import { ClientToTracker, TrackerToClient, clientToTracker, trackerToClient } from '../../src/protocol/tracker-channel.js';
import { expect, mutated, pureRun, timed, valueOrTypedError, type FuzzTarget } from './harness.js';

type Obj = Record<string, unknown>;

const id = fc.string({ minLength: 1, maxLength: 64 });
const hex40 = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => Buffer.from(b).toString('hex'));
const b64u = (bytes: number): fc.Arbitrary<string> => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('base64url'));
const port = fc.integer({ min: 1, max: 65535 });
const str = fc.string({ unit: 'grapheme', maxLength: 40 });
const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });
const clean = (o: Obj): Obj => JSON.parse(JSON.stringify(o)) as Obj;

const channelPeer = fc.record(
  { sid: str, peer_id: hex40, ip: str, port, role: fc.constantFrom('viewer', 'source'), key: b64u(32) },
  { requiredKeys: ['sid', 'peer_id', 'ip', 'port', 'role'] },
);

const clientToTrackerMsg: fc.Arbitrary<Obj> = fc.oneof(
  fc.record({
    type: fc.constant('announce'),
    id,
    token: fc.string({ maxLength: 200 }),
    info_hash: hex40,
    peer_id: hex40,
    port,
    numwant: opt(fc.integer({ min: 0, max: 1000 })),
    uploaded: opt(fc.nat()),
    downloaded: opt(fc.nat()),
    proof: opt(b64u(64)),
  }),
  fc.record({ type: fc.constant('heartbeat'), token: opt(fc.string({ maxLength: 200 })) }),
  fc.record({ type: fc.constant('stopped'), id, ref: opt(id) }),
  fc.record({ type: fc.constant('ack'), id }),
);

const trackerToClientMsg: fc.Arbitrary<Obj> = fc.oneof(
  fc.record({ type: fc.constant('welcome'), nonce: b64u(32) }),
  fc.record({
    type: fc.constant('peers'),
    id,
    interval_s: fc.integer({ min: 1, max: 86_400 }),
    heartbeat_s: fc.double({ min: 0.1, max: 3600, noNaN: true }),
    complete: fc.integer(),
    incomplete: fc.integer(),
    peers: fc.array(channelPeer, { maxLength: 4 }),
    revoked: opt(fc.array(fc.string({ maxLength: 128 }), { maxLength: 4 })),
  }),
  fc.record({ type: fc.constant('error'), id: opt(id), code: str, message: str }),
  fc.record({ type: fc.constant('disconnect'), id, reason: str }),
  fc.record({ type: fc.constant('revoked'), id, sid: str }),
  fc.record({ type: fc.constant('ack'), id }),
);

const trackerToControlMsg: fc.Arbitrary<Obj> = fc.oneof(
  fc.record({ type: fc.constant('hello'), tracker_id: fc.string({ minLength: 1, maxLength: 128 }), announce_url: str, ws_url: str, sessions: fc.array(str, { maxLength: 6 }) }),
  fc.record({ type: fc.constant('join'), id, sid: str, ip: str, port: fc.integer({ min: 0, max: 65535 }), at: fc.maxSafeInteger() }),
  fc.record({ type: fc.constant('leave'), id, sid: str, reason: str, ref: opt(id), at: fc.maxSafeInteger() }),
  fc.record({ type: fc.constant('ack'), id }),
);

const controlToTrackerMsg: fc.Arbitrary<Obj> = fc.oneof(
  fc.record({ type: fc.constant('welcome'), control_key: str, heartbeat_timeout_ms: opt(fc.maxSafeInteger()), revoked: opt(fc.array(fc.string({ maxLength: 128 }), { maxLength: 4 })) }),
  fc.record({ type: fc.constant('disconnect'), id, sid: str, reason: str }),
  fc.record({ type: fc.constant('ack'), id }),
);

/** JSON-level mutations of a valid message: a field dropped, replaced by any JSON value, or one added. */
function jsonMutated(valid: fc.Arbitrary<Obj>): fc.Arbitrary<Obj> {
  return fc
    .tuple(valid, fc.nat(), fc.constantFrom('drop', 'replace', 'add'), fc.jsonValue({ maxDepth: 3 }), fc.string({ maxLength: 10 }))
    .map(([msg, at, op, value, name]) => {
      const out = clean(msg);
      const keys = Object.keys(out);
      const key = keys[at % keys.length] ?? 'type';
      if (op === 'drop') delete out[key];
      else if (op === 'replace') out[key] = value;
      else out[name] = value;
      return out;
    });
}

/** How ws hands a frame over: text, one Buffer, fragments, or an ArrayBuffer. */
type Frame = { text: string } | { buffer: Buffer } | { fragments: Buffer[] } | { arrayBuffer: Buffer };

function asFrame(kind: number, text: string): Frame {
  const b = Buffer.from(text, 'utf8');
  if (kind === 0) return { text };
  if (kind === 1) return { buffer: b };
  if (kind === 2) return { fragments: [b.subarray(0, b.length >> 1), b.subarray(b.length >> 1)] };
  return { arrayBuffer: b };
}

function frameData(f: Frame): unknown {
  if ('text' in f) return f.text;
  if ('buffer' in f) return f.buffer;
  if ('fragments' in f) return f.fragments;
  const ab = new ArrayBuffer(f.arrayBuffer.length);
  new Uint8Array(ab).set(f.arrayBuffer);
  return ab;
}

/** Raw text: anything, deep nesting, oversized frames. */
const rawText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null'),
  fc
    .tuple(fc.integer({ min: 100, max: 20_000 }), fc.constantFrom(['[', '1', ']'], ['{"a":', '1', '}'], ['{"type":"ack","id":', '"x"', '}']), fc.boolean())
    .map(([n, [open, mid, close], closed]) => `${open.repeat(n)}${mid}${closed ? close.repeat(n) : ''}`),
  fc.integer({ min: MAX_JSON_FRAME - 4, max: MAX_JSON_FRAME + 4 }).map((n) => `"${'x'.repeat(Math.max(0, n - 2))}"`),
);

interface Direction {
  what: string;
  codec: MessageCodec<TSchema>;
  schema: TSchema;
  valid: fc.Arbitrary<Obj>;
}

type JsonCase = { dir: number; frame: Frame } | { dir: number; roundTrip: Obj } | { dir: number; odd: unknown };

function jsonCase(dirs: Direction[]): fc.Arbitrary<JsonCase> {
  return fc.integer({ min: 0, max: dirs.length - 1 }).chain((dir) => {
    const d = dirs[dir] as Direction;
    const text = fc.oneof(
      { arbitrary: rawText, weight: 2 },
      { arbitrary: jsonMutated(d.valid).map((o) => JSON.stringify(o)), weight: 3 },
      { arbitrary: mutated(d.valid.map((o) => Buffer.from(JSON.stringify(o)))).map((b) => b.toString('utf8')), weight: 3 },
    );
    return fc.oneof(
      { arbitrary: fc.tuple(fc.nat(3), text).map(([k, t]) => ({ dir, frame: asFrame(k, t) })), weight: 8 },
      { arbitrary: d.valid.map((o) => ({ dir, roundTrip: clean(o) })), weight: 2 },
      { arbitrary: fc.oneof(fc.constant(undefined), fc.constant(null), fc.integer(), fc.object({ maxDepth: 1 })).map((odd) => ({ dir, odd })), weight: 1 },
    );
  });
}

function makeChecker(dirs: Direction[]): (c: JsonCase) => void {
  const checks = dirs.map((d) => TypeCompiler.Compile(d.schema));
  return timed((c: JsonCase) => {
    const d = dirs[c.dir] as Direction;
    const check = checks[c.dir] as (typeof checks)[number];
    const accepted = (v: unknown): void => {
      expect(check.Check(v), `${d.what}: parse returned a value its schema refuses`);
      // What was accepted survives encode → parse unchanged.
      expect(JSON.stringify(d.codec.parse(d.codec.encode(v))) === JSON.stringify(v), `${d.what}: parse(encode(v)) != v`);
    };
    if ('frame' in c) valueOrTypedError(() => d.codec.parse(frameData(c.frame)), ProtocolError, accepted);
    else if ('odd' in c) valueOrTypedError(() => d.codec.parse(c.odd), ProtocolError, accepted);
    else {
      const v = d.codec.parse(JSON.stringify(c.roundTrip));
      expect(JSON.stringify(v) === JSON.stringify(c.roundTrip), `${d.what}: a valid message did not parse to itself`);
    }
  });
}

function jsonTarget(name: string, checks: string, dirs: Direction[]): FuzzTarget {
  return {
    name,
    checks,
    testRuns: 2000,
    open: async () => {
      const run = makeChecker(dirs);
      return pureRun(fc.property(jsonCase(dirs), (c) => run(c)));
    },
  };
}

const JSON_CHECKS =
  'codec.parse on text, Buffer, fragmented and ArrayBuffer frames holding raw text, deep nesting, frames around 64 KiB, JSON-mutated and byte-mutated valid messages, and non-frame values: a value its schema accepts or ProtocolError; accepted values and generated valid messages round-trip through encode/parse';

export const trackerChannelTarget = jsonTarget('tracker-channel', `${JSON_CHECKS} (client→tracker and tracker→client)`, [
  { what: 'client→tracker', codec: clientToTracker as MessageCodec<TSchema>, schema: ClientToTracker, valid: clientToTrackerMsg },
  { what: 'tracker→client', codec: trackerToClient as MessageCodec<TSchema>, schema: TrackerToClient, valid: trackerToClientMsg },
]);

export const controlLinkTarget = jsonTarget('control-link', `${JSON_CHECKS} (tracker→control and control→tracker)`, [
  { what: 'tracker→control', codec: trackerToControl as MessageCodec<TSchema>, schema: TrackerToControl, valid: trackerToControlMsg },
  { what: 'control→tracker', codec: controlToTracker as MessageCodec<TSchema>, schema: ControlToTracker, valid: controlToTrackerMsg },
]);
