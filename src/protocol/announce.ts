/**
 * The BEP 3 HTTP announce and scrape, as bytes: parsing the raw query string
 * into one normalized request, and bencoding the answers. No sockets here.
 *
 * The query is parsed by hand, not with URLSearchParams: info_hash and peer_id
 * are percent-encoded binary, and any utf-8 decoding step would replace the
 * bytes that are not valid utf-8 and change the hash.
 */
import { ClientError } from '../core/errors.js';

/** What bencode offers, typed: the package ships no declarations. */
interface Bencode {
  encode(value: unknown): Uint8Array;
  decode(data: Uint8Array): unknown;
}
// Loaded through a typed view so no ambient module declaration is needed in the shared tree.
const bencodeModule: string = 'bencode';
const bencode = ((await import(bencodeModule)) as { default: Bencode }).default;

export type AnnounceEvent = 'started' | 'completed' | 'stopped' | 'paused';

export interface AnnounceRequest {
  /** 20 bytes, lowercase hex. */
  infoHash: string;
  /** 20 bytes, lowercase hex. */
  peerId: string;
  port: number;
  uploaded: number;
  downloaded: number;
  /** Bytes left; null when the client did not say (a live stream has no end). */
  left: number | null;
  event: AnnounceEvent | null;
  /** BEP 23; true unless the client asked for compact=0. */
  compact: boolean;
  noPeerId: boolean;
  /** As asked; the tracker applies its default and cap. */
  numwant: number | null;
  token: string | null;
}

export interface ScrapeRequest {
  infoHashes: string[];
  token: string | null;
}

export interface AnnouncePeer {
  peerId: string;
  ip: string;
  port: number;
}

export interface AnnounceSuccess {
  interval: number;
  minInterval: number;
  complete: number;
  incomplete: number;
  peers: AnnouncePeer[];
  compact: boolean;
  noPeerId: boolean;
}

const MAX_QUERY = 8 * 1024;
const EVENTS: ReadonlySet<string> = new Set(['started', 'completed', 'stopped', 'paused']);

function bad(message: string): ClientError {
  return new ClientError('invalid_request', message);
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/** Percent-decodes into `out` from 0 ('+' is a space, as in form encoding); returns the byte count. */
function decodeInto(value: string, what: string, out: Buffer): number {
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25) {
      const hi = hexValue(value.charCodeAt(i + 1));
      const lo = hexValue(value.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) throw bad(`${what} has a malformed percent-encoding`);
      out[n++] = hi * 16 + lo;
      i += 2;
    } else if (c === 0x2b) {
      out[n++] = 0x20;
    } else if (c > 0xff) {
      throw bad(`${what} has a character that is not percent-encoded`);
    } else {
      out[n++] = c;
    }
  }
  return n;
}

/** Percent-decodes to raw bytes ('+' is a space, as in form encoding). */
export function percentDecodeBytes(value: string, what: string): Buffer {
  const out = Buffer.alloc(value.length);
  return out.subarray(0, decodeInto(value, what, out));
}

/**
 * Decoding space reused by every parse: a decoded value is turned into a
 * string before the next one is decoded. An announce decodes a dozen values,
 * and a Buffer each was a visible share of the tracker's profile.
 */
const scratch = Buffer.allocUnsafe(MAX_QUERY);

/** Characters that make decoding change a value: escapes, and code points latin1 or utf-8 would re-encode. */
const NEEDS_DECODING = { latin1: /[%+\u0100-\uffff]/, utf8: /[%+\u0080-\uffff]/ } as const;

function decodeString(value: string, what: string, encoding: 'latin1' | 'utf8'): string {
  // Bytes below 0x80 are the same in latin1 and utf-8; latin1 maps every byte up to 0xff to itself.
  if (!NEEDS_DECODING[encoding].test(value)) return value;
  return scratch.toString(encoding, 0, decodeInto(value, what, scratch));
}

/** name → raw (still percent-encoded) values, in order. */
function splitQuery(rawQuery: string): Map<string, string[]> {
  if (rawQuery.length > MAX_QUERY) throw bad(`query string over ${MAX_QUERY} bytes`);
  const params = new Map<string, string[]>();
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    const name = decodeString(rawName, 'a parameter name', 'latin1');
    const list = params.get(name);
    if (list) list.push(value);
    else params.set(name, [value]);
  }
  return params;
}

function single(params: Map<string, string[]>, name: string): string | undefined {
  const values = params.get(name);
  if (!values) return undefined;
  if (values.length > 1) throw bad(`${name} is given more than once`);
  return values[0];
}

function hash20(raw: string | undefined, name: string): string {
  if (raw === undefined) throw bad(`${name} is required`);
  const length = decodeInto(raw, name, scratch);
  if (length !== 20) throw bad(`${name} must be 20 bytes, got ${length}`);
  return scratch.toString('hex', 0, 20);
}

function text(raw: string | undefined, name: string): string | undefined {
  if (raw === undefined) return undefined;
  return decodeString(raw, name, 'utf8');
}

function integer(raw: string | undefined, name: string, min: number, max: number): number | undefined {
  const value = text(raw, name);
  if (value === undefined) return undefined;
  if (!/^\d{1,16}$/.test(value)) throw bad(`${name} must be an integer from ${min} to ${max}`);
  const n = Number(value);
  if (n < min || n > max) throw bad(`${name} must be an integer from ${min} to ${max}`);
  return n;
}

/** Parses the query string of GET /announce (without the leading '?'). Throws ClientError 'invalid_request'. */
export function parseAnnounceQuery(rawQuery: string): AnnounceRequest {
  const q = splitQuery(rawQuery);
  const infoHash = hash20(single(q, 'info_hash'), 'info_hash');
  const peerId = hash20(single(q, 'peer_id'), 'peer_id');
  const port = integer(single(q, 'port'), 'port', 1, 65535);
  if (port === undefined) throw bad('port is required');
  const event = text(single(q, 'event'), 'event') ?? '';
  if (event !== '' && !EVENTS.has(event)) throw bad(`event must be started, completed, stopped or paused, got "${event.slice(0, 32)}"`);
  const compact = text(single(q, 'compact'), 'compact') ?? '1';
  if (compact !== '0' && compact !== '1') throw bad('compact must be 0 or 1');
  const noPeerId = text(single(q, 'no_peer_id'), 'no_peer_id') ?? '0';
  const max = Number.MAX_SAFE_INTEGER;
  return {
    infoHash,
    peerId,
    port,
    uploaded: integer(single(q, 'uploaded'), 'uploaded', 0, max) ?? 0,
    downloaded: integer(single(q, 'downloaded'), 'downloaded', 0, max) ?? 0,
    left: integer(single(q, 'left'), 'left', 0, max) ?? null,
    event: event === '' ? null : (event as AnnounceEvent),
    compact: compact === '1',
    noPeerId: noPeerId === '1',
    numwant: integer(single(q, 'numwant'), 'numwant', 0, 100_000) ?? null,
    token: text(single(q, 'token'), 'token') || null,
  };
}

/** Parses the query string of GET /scrape: any number of info_hash, and the token. */
export function parseScrapeQuery(rawQuery: string): ScrapeRequest {
  const q = splitQuery(rawQuery);
  const infoHashes = (q.get('info_hash') ?? []).map((raw) => hash20(raw, 'info_hash'));
  if (infoHashes.length > 100) throw bad('at most 100 info_hash per scrape');
  return { infoHashes, token: text(single(q, 'token'), 'token') || null };
}

/** Writes a dotted quad's 4 bytes at `at`; false (nothing meaningful written) if `ip` is not one. */
function writeIpv4(ip: string, out: Buffer, at: number): boolean {
  let part = 0;
  let digits = 0;
  let n = 0;
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || n === 4) return false;
      out[at + n++] = part;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39 && digits < 3) {
      part = part * 10 + (c - 0x30);
      digits++;
      if (part > 255) return false;
    } else {
      return false;
    }
  }
  return n === 4;
}

function ipv6Bytes(ip: string): Buffer | null {
  if (!ip.includes(':') || ip.includes('.')) return null;
  const halves = ip.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  const out = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) {
    const g = groups[i] as string;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    out.writeUInt16BE(parseInt(g, 16), i * 2);
  }
  return out;
}

/** BEP 23 / BEP 7: 6 bytes per IPv4 peer in `peers`, 18 per IPv6 peer in `peers6`. */
export function compactPeers(peers: AnnouncePeer[]): { peers: Buffer; peers6: Buffer } {
  const v4 = Buffer.allocUnsafe(peers.length * 6);
  let n = 0;
  const v6: Buffer[] = [];
  for (const p of peers) {
    if (writeIpv4(p.ip, v4, n)) {
      v4.writeUInt16BE(p.port, n + 4);
      n += 6;
      continue;
    }
    const b = ipv6Bytes(p.ip);
    if (b) {
      const port = Buffer.allocUnsafe(2);
      port.writeUInt16BE(p.port);
      v6.push(b, port);
    }
  }
  return { peers: v4.subarray(0, n), peers6: Buffer.concat(v6) };
}

export function encodeAnnounceSuccess(res: AnnounceSuccess): Uint8Array {
  const base = {
    interval: res.interval,
    'min interval': res.minInterval,
    complete: res.complete,
    incomplete: res.incomplete,
  };
  if (res.compact) {
    const { peers, peers6 } = compactPeers(res.peers);
    return bencode.encode(peers6.length > 0 ? { ...base, peers, peers6 } : { ...base, peers });
  }
  const peers = res.peers.map((p) =>
    res.noPeerId ? { ip: p.ip, port: p.port } : { 'peer id': Buffer.from(p.peerId, 'hex'), ip: p.ip, port: p.port },
  );
  return bencode.encode({ ...base, peers });
}

export function encodeFailure(reason: string): Uint8Array {
  return bencode.encode({ 'failure reason': reason });
}

/** Scrape answer; the `files` keys are raw 20-byte hashes, sorted bytewise as bencode requires. */
export function encodeScrape(files: Array<{ infoHash: string; complete: number; incomplete: number; downloaded: number }>): Uint8Array {
  const sorted = [...files].sort((a, b) => (a.infoHash < b.infoHash ? -1 : a.infoHash > b.infoHash ? 1 : 0));
  const parts: Uint8Array[] = [Buffer.from('d5:filesd')];
  for (const f of sorted) {
    parts.push(Buffer.from('20:'), Buffer.from(f.infoHash, 'hex'));
    parts.push(bencode.encode({ complete: f.complete, downloaded: f.downloaded, incomplete: f.incomplete }));
  }
  parts.push(Buffer.from('ee'));
  return Buffer.concat(parts);
}

/**
 * Decodes bencoded bytes; strings stay Uint8Array (bencode 4's encoding option
 * breaks on dictionaries). Dict keys that are not utf-8 come back as hex.
 * Throws on malformed input.
 */
export function decodeBencode(data: Uint8Array): unknown {
  return bencode.decode(data);
}
