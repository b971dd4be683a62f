/**
 * `gc_live`, gatecast's BEP 10 extension. It runs inside the encrypted peer
 * channel (peer/secure-channel.ts). The extended handshake carries the access
 * token (`gc_token`), the role (`gc_role`) and the proof of possession
 * (`gc_auth`: Ed25519 by the sender's client key over peerAuthTranscript, which
 * binds the Noise handshake hash, the info hash, both peer ids, the session ids
 * and which side signs). Messages are bencoded dicts with a `t` field:
 *
 *   token    { token }        the sender's renewed access token (same session, same key)
 *   window   { base, bits }   what the sender holds, in place of BEP 3 bitfield:
 *                             bit i (MSB first) is piece base+i
 *   leaving  { reason }       step C: the sender is about to disconnect
 *   revoked  { sid }          a revocation notice relayed between peers
 *
 * Decoders are strict: a wrong type or size is a ProtocolError naming the
 * field. A message whose `t` is unknown decodes to null, so a newer peer's
 * additions are skipped rather than fatal.
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import { ProtocolError } from '../core/errors.js';
import type { TokenRole } from '../core/token.js';
import { bdecodeDict, bencode, isBDict, type BDict, type BEncodable, type BValue } from './wire-bencode.js';
import type { WireExtension } from './wire.js';

export const GC_LIVE = 'gc_live';
/** The id we ask peers to use for gc_live messages sent to us (our handshake's `m`). */
export const GC_LIVE_LOCAL_ID = 1;
export const LIVE_VERSION = 'gatecast/0.1';
export const SIGNATURE_BYTES = 64;
export const MAX_TOKEN_BYTES = 4096;
export const MAX_WINDOW_BYTES = 64 * 1024;
export const MAX_REASON_BYTES = 256;
export const MAX_SID_BYTES = 128;
const AUTH_DOMAIN = Buffer.from('gatecast-peer-auth-v2\0');

export interface LiveHandshake {
  /** The id the remote wants for gc_live messages we send it; null when it does not speak gc_live. */
  gcLiveId: number | null;
  /** Free-form client name (`v`), null when absent or not text. */
  version: string | null;
  token: string | null;
  role: TokenRole | null;
  /** `gc_auth`: the sender's signature over this channel's transcript. */
  auth: Buffer | null;
}

export type LiveMessage =
  | { t: 'token'; token: string }
  | { t: 'window'; base: number; bits: Buffer }
  | { t: 'leaving'; reason: string }
  | { t: 'revoked'; sid: string };

/**
 * gc_live plugged into a wire by name (Wire.use): the remote's extended
 * handshake and its gc_live messages, decoded, go to `handlers`. A malformed
 * message throws ProtocolError, which the wire reports as its error; one of a
 * type this version does not know is skipped.
 */
export function gcLive(handlers: { handshake(dict: BDict): void; message(msg: LiveMessage): void }): WireExtension {
  return {
    name: GC_LIVE,
    onExtendedHandshake: (dict) => handlers.handshake(dict),
    onMessage: (payload) => {
      const msg = decodeLiveMessage(payload);
      if (msg) handlers.message(msg);
    },
  };
}

export function encodeLiveHandshake(h: { token: string; role: TokenRole; auth: Buffer }): BEncodable {
  if (Buffer.byteLength(h.token) > MAX_TOKEN_BYTES) throw new RangeError(`token over ${MAX_TOKEN_BYTES} bytes`);
  if (h.auth.length !== SIGNATURE_BYTES) throw new RangeError(`gc_auth must be ${SIGNATURE_BYTES} bytes`);
  return {
    m: { [GC_LIVE]: GC_LIVE_LOCAL_ID },
    v: LIVE_VERSION,
    gc_token: h.token,
    gc_role: h.role,
    gc_auth: h.auth,
  };
}

/**
 * Reads our fields from a remote's extended handshake. Absent fields are null
 * (a stock BitTorrent client sends none); present ones must be well formed.
 */
export function decodeLiveHandshake(dict: BDict): LiveHandshake {
  const m = dict['m'];
  let gcLiveId: number | null = null;
  if (m !== undefined) {
    if (!isBDict(m)) throw new ProtocolError('extended handshake: "m" must be a dictionary');
    const id = m[GC_LIVE];
    if (id !== undefined) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 255) {
        throw new ProtocolError('extended handshake: m.gc_live must be an integer 0..255');
      }
      // BEP 10: id 0 means the extension is switched off.
      gcLiveId = id === 0 ? null : id;
    }
  }
  const v = dict['v'];
  const token = optionalBytes(dict, 'gc_token', 'extended handshake', MAX_TOKEN_BYTES);
  const auth = optionalBytes(dict, 'gc_auth', 'extended handshake', SIGNATURE_BYTES);
  if (auth && auth.length !== SIGNATURE_BYTES) {
    throw new ProtocolError(`extended handshake: gc_auth must be ${SIGNATURE_BYTES} bytes, got ${auth.length}`);
  }
  const roleBytes = optionalBytes(dict, 'gc_role', 'extended handshake', 16);
  let role: TokenRole | null = null;
  if (roleBytes) {
    const r = roleBytes.toString('utf8');
    if (r !== 'viewer' && r !== 'source') throw new ProtocolError('extended handshake: gc_role must be "viewer" or "source"');
    role = r;
  }
  return {
    gcLiveId,
    version: Buffer.isBuffer(v) && v.length <= 256 ? v.toString('utf8') : null,
    token: token ? token.toString('utf8') : null,
    role,
    auth: auth ? Buffer.from(auth) : null,
  };
}

export function encodeLiveMessage(msg: LiveMessage): Buffer {
  switch (msg.t) {
    case 'token':
      if (msg.token.length === 0 || Buffer.byteLength(msg.token) > MAX_TOKEN_BYTES) throw new RangeError('token: empty or too long');
      return bencode({ t: 'token', token: msg.token });
    case 'window':
      if (!Number.isSafeInteger(msg.base) || msg.base < 0) throw new RangeError(`window base ${msg.base} is not a u53`);
      if (msg.bits.length > MAX_WINDOW_BYTES) throw new RangeError(`window bitmap over ${MAX_WINDOW_BYTES} bytes`);
      return bencode({ t: 'window', base: msg.base, bits: msg.bits });
    case 'leaving':
      return bencode({ t: 'leaving', reason: truncateUtf8(msg.reason, MAX_REASON_BYTES) });
    case 'revoked':
      if (msg.sid.length === 0 || Buffer.byteLength(msg.sid) > MAX_SID_BYTES) throw new RangeError('revoked: bad sid');
      return bencode({ t: 'revoked', sid: msg.sid });
  }
}

/** Returns null for a message type this version does not know. */
export function decodeLiveMessage(payload: Buffer): LiveMessage | null {
  const d = bdecodeDict(payload, 'gc_live message');
  const t = requiredBytes(d, 't', 'gc_live message', 32).toString('utf8');
  switch (t) {
    case 'token': {
      const token = requiredBytes(d, 'token', 'token', MAX_TOKEN_BYTES);
      if (token.length === 0) throw new ProtocolError('token: token is empty');
      return { t, token: token.toString('utf8') };
    }
    case 'window': {
      const base = d['base'];
      if (typeof base !== 'number' || base < 0) throw new ProtocolError('window: base must be a non-negative integer');
      return { t, base, bits: Buffer.from(requiredBytes(d, 'bits', 'window', MAX_WINDOW_BYTES)) };
    }
    case 'leaving':
      return { t, reason: requiredBytes(d, 'reason', 'leaving', MAX_REASON_BYTES).toString('utf8') };
    case 'revoked': {
      const sid = requiredBytes(d, 'sid', 'revoked', MAX_SID_BYTES);
      if (sid.length === 0) throw new ProtocolError('revoked: sid is empty');
      return { t, sid: sid.toString('utf8') };
    }
    default:
      return null;
  }
}

/** Whether a window bitmap marks piece `seq` as held. */
export function windowHas(w: { base: number; bits: Buffer }, seq: number): boolean {
  const i = seq - w.base;
  if (!Number.isInteger(i) || i < 0) return false;
  const byte = w.bits[i >> 3];
  return byte !== undefined && (byte & (0x80 >> (i & 7))) !== 0;
}

/** Which end of the channel signs: the dialer (Noise initiator) or the acceptor. */
export type AuthSigner = 'initiator' | 'responder';

/** Everything a `gc_auth` signature binds. */
export interface PeerAuthContext {
  /** The Noise handshake hash of the channel the proof travels in. */
  handshakeHash: Buffer;
  infoHash: Buffer;
  signer: AuthSigner;
  initiatorPeerId: Buffer;
  responderPeerId: Buffer;
  /** The dialer's session id (from its token). */
  initiatorSid: string;
  /**
   * The acceptor's session id, or null in the dialer's proof: the dialer goes
   * first and has not seen the acceptor's token yet.
   */
  responderSid: string | null;
}

/**
 * The bytes a `gc_auth` signature covers: a domain tag, the signer's side, then
 * every field length-prefixed (u16) so no two contexts share an encoding.
 */
export function peerAuthTranscript(c: PeerAuthContext): Buffer {
  const field = (b: Buffer): Buffer => {
    if (b.length > 0xffff) throw new RangeError('transcript field too long');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    return Buffer.concat([len, b]);
  };
  return Buffer.concat([
    AUTH_DOMAIN,
    Buffer.from(c.signer === 'initiator' ? 'I' : 'R'),
    field(c.handshakeHash),
    field(c.infoHash),
    field(c.initiatorPeerId),
    field(c.responderPeerId),
    field(Buffer.from(c.initiatorSid, 'utf8')),
    field(Buffer.from(c.responderSid ?? '', 'utf8')),
  ]);
}

export function signPeerAuth(clientKey: KeyObject, context: PeerAuthContext): Buffer {
  return sign(null, peerAuthTranscript(context), clientKey);
}

export function verifyPeerAuth(clientPublicKey: KeyObject, sig: Buffer, context: PeerAuthContext): boolean {
  try {
    return verify(null, peerAuthTranscript(context), clientPublicKey, sig);
  } catch {
    return false;
  }
}

function optionalBytes(d: BDict, key: string, what: string, max: number): Buffer | null {
  const v: BValue | undefined = d[key];
  if (v === undefined) return null;
  if (!Buffer.isBuffer(v)) throw new ProtocolError(`${what}: ${key} must be a byte string`);
  if (v.length > max) throw new ProtocolError(`${what}: ${key} over ${max} bytes`);
  return v;
}

function requiredBytes(d: BDict, key: string, what: string, max: number): Buffer {
  const v = optionalBytes(d, key, what, max);
  if (v === null) throw new ProtocolError(`${what}: missing ${key}`);
  return v;
}

function truncateUtf8(s: string, max: number): string {
  const b = Buffer.from(s, 'utf8');
  return b.length <= max ? s : b.subarray(0, max).toString('utf8').replace(/\uFFFD$/, '');
}
