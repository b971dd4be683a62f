/**
 * The HTTP announce and scrape query parsers (src/protocol/announce.ts): the
 * raw query string a BitTorrent client sends the tracker.
 */
import fc from 'fast-check';
import { ClientError } from '../../src/core/errors.js';
import { parseAnnounceQuery, parseScrapeQuery, type AnnounceRequest, type ScrapeRequest } from '../../src/protocol/announce.js';
import { bytesAround, expect, pureRun, timed, valueOrTypedError, type FuzzTarget } from './harness.js';

const HEX40 = /^[0-9a-f]{40}$/;
const EVENTS = ['started', 'completed', 'stopped', 'paused'] as const;

/** Binary percent-encoded as clients do it: unreserved bytes sometimes raw, hex digits in either case. */
function percentEncode(bytes: Uint8Array, rawUnreserved: boolean, upper: boolean): string {
  let out = '';
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    if (rawUnreserved && /[A-Za-z0-9._~-]/.test(ch)) out += ch;
    else {
      const h = b.toString(16).padStart(2, '0');
      out += `%${upper ? h.toUpperCase() : h}`;
    }
  }
  return out;
}

const hash = fc.uint8Array({ minLength: 20, maxLength: 20 });
const safe = fc.oneof(fc.nat(), fc.maxSafeInteger().map(Math.abs));

const announce = fc.record(
  {
    infoHash: hash,
    peerId: hash,
    port: fc.integer({ min: 1, max: 65535 }),
    uploaded: safe,
    downloaded: safe,
    left: safe,
    event: fc.constantFrom(...EVENTS),
    compact: fc.boolean(),
    noPeerId: fc.boolean(),
    numwant: fc.integer({ min: 0, max: 100_000 }),
    token: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }),
  },
  { requiredKeys: ['infoHash', 'peerId', 'port'] },
);
type Announce = typeof announce extends fc.Arbitrary<infer T> ? T : never;

const valid = fc
  .tuple(announce, fc.boolean(), fc.boolean(), fc.array(fc.nat(), { minLength: 12, maxLength: 12 }))
  .map(([a, raw, upper, order]) => {
    const parts: [string, string][] = [
      ['info_hash', percentEncode(a.infoHash, raw, upper)],
      ['peer_id', percentEncode(a.peerId, raw, upper)],
      ['port', String(a.port)],
    ];
    if (a.uploaded !== undefined) parts.push(['uploaded', String(a.uploaded)]);
    if (a.downloaded !== undefined) parts.push(['downloaded', String(a.downloaded)]);
    if (a.left !== undefined) parts.push(['left', String(a.left)]);
    if (a.event !== undefined) parts.push(['event', a.event]);
    if (a.compact !== undefined) parts.push(['compact', a.compact ? '1' : '0']);
    if (a.noPeerId !== undefined) parts.push(['no_peer_id', a.noPeerId ? '1' : '0']);
    if (a.numwant !== undefined) parts.push(['numwant', String(a.numwant)]);
    if (a.token !== undefined) parts.push(['token', encodeURIComponent(a.token)]);
    const keyed = parts.map((p, i) => ({ p, k: order[i] ?? 0 })).sort((x, y) => x.k - y.k);
    return { a, query: keyed.map(({ p }) => `${p[0]}=${p[1]}`).join('&') };
  });

/** Fragments that steer raw input toward the parser's corners. */
const fragment = fc.oneof(
  fc.constantFrom('info_hash=', 'peer_id=', 'port=', 'event=', 'numwant=', 'left=', 'token=', 'compact=', '&', '=', '%', '%4', '%zz', '%25', '+', '\u00ff', '\u0100', '\ud800', '99999999999999999'),
  fc.string({ unit: 'binary', maxLength: 6 }),
  hash.map((h) => percentEncode(h, true, false)),
);
const raw = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.array(fragment, { maxLength: 24 }).map((f) => f.join('')),
  // Around the 8 KiB limit.
  fc.tuple(fc.integer({ min: 8180, max: 8200 }), fc.constantFrom('a', '%41', 'info_hash=%41&')).map(([n, unit]) => unit.repeat(Math.ceil(n / unit.length)).slice(0, n)),
);

/** A second, naive reading of the query (percent-decoding byte by byte): what an accepted query must agree with. */
function referenceParams(query: string): Map<string, Buffer[]> {
  const decode = (v: string): Buffer => {
    const out: number[] = [];
    for (let i = 0; i < v.length; i++) {
      if (v[i] === '%') {
        out.push(parseInt(v.slice(i + 1, i + 3), 16));
        i += 2;
      } else out.push(v[i] === '+' ? 0x20 : v.charCodeAt(i));
    }
    return Buffer.from(out);
  };
  const params = new Map<string, Buffer[]>();
  for (const part of query.split('&').filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    const name = decode(eq < 0 ? part : part.slice(0, eq)).toString('latin1');
    params.set(name, [...(params.get(name) ?? []), decode(eq < 0 ? '' : part.slice(eq + 1))]);
  }
  return params;
}

function agreesWithReference(r: AnnounceRequest, query: string): void {
  const ref = referenceParams(query);
  const one = (name: string): Buffer | undefined => {
    const values = ref.get(name);
    expect(values === undefined || values.length === 1, `${name} given ${values?.length} times, yet accepted`);
    return values?.[0];
  };
  expect(one('info_hash')?.toString('hex') === r.infoHash, `info_hash ${r.infoHash} is not what the query holds`);
  expect(one('peer_id')?.toString('hex') === r.peerId, `peer_id ${r.peerId} is not what the query holds`);
  // Leading zeros are accepted ("001" is port 1): harmless, and no client sends them.
  const port = one('port')?.toString('utf8') ?? '';
  expect(/^[0-9]+$/.test(port) && Number(port) === r.port, `port ${r.port} is not what the query holds`);
  expect((one('event')?.toString('utf8') || null) === r.event, `event ${String(r.event)} is not what the query holds`);
  expect((one('token')?.toString('utf8') || null) === r.token, 'token is not what the query holds');
}

function checkAnnounce(r: AnnounceRequest): void {
  expect(HEX40.test(r.infoHash) && HEX40.test(r.peerId), 'info_hash or peer_id not 40 hex');
  expect(Number.isInteger(r.port) && r.port >= 1 && r.port <= 65535, `port ${r.port}`);
  for (const n of [r.uploaded, r.downloaded]) expect(Number.isSafeInteger(n) && n >= 0, `counter ${n}`);
  expect(r.left === null || (Number.isSafeInteger(r.left) && r.left >= 0), `left ${r.left}`);
  expect(r.event === null || (EVENTS as readonly string[]).includes(r.event), `event ${String(r.event)}`);
  expect(typeof r.compact === 'boolean' && typeof r.noPeerId === 'boolean', 'compact / no_peer_id not booleans');
  expect(r.numwant === null || (Number.isInteger(r.numwant) && r.numwant >= 0 && r.numwant <= 100_000), `numwant ${r.numwant}`);
  expect(r.token === null || (typeof r.token === 'string' && r.token.length > 0), 'token');
}

function checkScrape(r: ScrapeRequest): void {
  expect(r.infoHashes.length <= 100 && r.infoHashes.every((h) => HEX40.test(h)), 'scrape info hashes');
  expect(r.token === null || r.token.length > 0, 'scrape token');
}

const invalidRequest = (err: Error): boolean => err instanceof ClientError && err.code === 'invalid_request';

function roundTrip(a: Announce, query: string): void {
  const r = parseAnnounceQuery(query);
  const want: AnnounceRequest = {
    infoHash: Buffer.from(a.infoHash).toString('hex'),
    peerId: Buffer.from(a.peerId).toString('hex'),
    port: a.port,
    uploaded: a.uploaded ?? 0,
    downloaded: a.downloaded ?? 0,
    left: a.left ?? null,
    event: a.event ?? null,
    compact: a.compact ?? true,
    noPeerId: a.noPeerId ?? false,
    numwant: a.numwant ?? null,
    token: a.token ?? null,
  };
  expect(JSON.stringify(r) === JSON.stringify(want), `parsed ${JSON.stringify(r).slice(0, 300)}, sent ${JSON.stringify(want).slice(0, 300)}`);
}

type QueryCase = { query: string } | { valid: { a: Announce; query: string } };

const queryCase: fc.Arbitrary<QueryCase> = fc.oneof(
  { arbitrary: raw.map((query) => ({ query })), weight: 3 },
  { arbitrary: bytesAround(valid.map((v) => Buffer.from(v.query, 'latin1'))).map((b) => ({ query: b.toString('latin1') })), weight: 4 },
  { arbitrary: valid.map((v) => ({ valid: v })), weight: 1 },
);

const checkCase = timed((c: QueryCase): void => {
  if ('valid' in c) return roundTrip(c.valid.a, c.valid.query);
  valueOrTypedError(
    () => parseAnnounceQuery(c.query),
    ClientError,
    (r) => {
      checkAnnounce(r);
      agreesWithReference(r, c.query);
    },
    invalidRequest,
  );
  valueOrTypedError(() => parseScrapeQuery(c.query), ClientError, checkScrape, invalidRequest);
});

export const announceTarget: FuzzTarget = {
  name: 'announce-query',
  checks:
    "parseAnnounceQuery and parseScrapeQuery on raw strings (any UTF-16, percent-escape fragments, around the 8 KiB limit) and mutated valid queries: a well-typed request or ClientError 'invalid_request', and an accepted announce agrees with a naive second reading of the query (hashes, port, event, token, no repeated parameter); a query built from a request parses back to it (binary hashes in any percent-encoding, any parameter order)",
  testRuns: 3000,
  open: async () => pureRun(fc.property(queryCase, (c) => checkCase(c))),
};
