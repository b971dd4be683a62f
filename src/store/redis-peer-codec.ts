/**
 * One swarm peer as the bytes of a Redis hash value, so a peer costs tens of
 * bytes in Redis rather than a JSON object of a hundred:
 *
 *   flags (1) | lastSeen, float64 BE (8) | owner (8) | peer id (20) | IPv4 (4) | port, BE (2) | user (UTF-8, the rest)
 *
 * The owner is the writing tracker's store (8 random bytes per store): a
 * tracker removes a peer only if it wrote it last (redis-swarm-scripts.ts
 * REMOVE compares these bytes, at 1-based offsets 10–17), so a client that
 * moved to another tracker is not removed from under it by the one it left.
 * (BEP 23's compact address, as the memory store keeps it). A peer whose
 * address or peer id has no exact compact form (IPv6, a dotted quad with
 * leading zeros, a peer id not in lowercase hex, a port outside 0–65535)
 * sets the TEXT flag and carries `[ip, peerId, port, user]` as JSON after
 * lastSeen instead, so every peer reads back exactly as it was put. The sid
 * is the hash field, not part of the value.
 */
import type { SwarmPeer } from '../core/ports.js';

const SOURCE = 1;
const TEXT = 2;
/** Where the owner starts, and its length. */
export const OWNER_AT = 9;
export const OWNER_BYTES = 8;
const HEAD = OWNER_AT + OWNER_BYTES;
const PEER_ID_BYTES = 20;
const COMPACT_HEAD = HEAD + PEER_ID_BYTES + 6;
const LOWER_HEX_40 = /^[0-9a-f]{40}$/;
const DOTTED_QUAD = /^(?:0|[1-9][0-9]{0,2})\.(?:0|[1-9][0-9]{0,2})\.(?:0|[1-9][0-9]{0,2})\.(?:0|[1-9][0-9]{0,2})$/;

/** The canonical dotted quad's four bytes, or null when formatting them back would not give `ip`. */
function ipv4Bytes(ip: string): number[] | null {
  if (!DOTTED_QUAD.test(ip)) return null;
  const parts = ip.split('.').map(Number);
  return parts.every((p) => p <= 255) ? parts : null;
}

/** `owner`: OWNER_BYTES bytes naming the writing store. */
export function encodePeer(peer: SwarmPeer, owner: Buffer): Buffer {
  if (owner.length !== OWNER_BYTES) throw new Error(`a peer's owner is ${OWNER_BYTES} bytes, not ${owner.length}`);
  const role = peer.role === 'source' ? SOURCE : 0;
  const ip = ipv4Bytes(peer.ip);
  const compact = ip !== null && LOWER_HEX_40.test(peer.peerId) && Number.isInteger(peer.port) && peer.port >= 0 && peer.port <= 0xffff;
  if (!compact) {
    const text = Buffer.from(JSON.stringify([peer.ip, peer.peerId, peer.port, peer.user]), 'utf8');
    const out = Buffer.allocUnsafe(HEAD + text.length);
    out[0] = role | TEXT;
    out.writeDoubleBE(peer.lastSeen, 1);
    owner.copy(out, OWNER_AT);
    text.copy(out, HEAD);
    return out;
  }
  const userBytes = Buffer.byteLength(peer.user, 'utf8');
  const out = Buffer.allocUnsafe(COMPACT_HEAD + userBytes);
  out[0] = role;
  out.writeDoubleBE(peer.lastSeen, 1);
  owner.copy(out, OWNER_AT);
  out.write(peer.peerId, HEAD, PEER_ID_BYTES, 'hex');
  const a = HEAD + PEER_ID_BYTES;
  for (let i = 0; i < 4; i++) out[a + i] = ip[i] as number;
  out.writeUInt16BE(peer.port, a + 4);
  out.write(peer.user, COMPACT_HEAD, 'utf8');
  return out;
}

function isTextFields(v: unknown): v is [string, string, number, string] {
  return Array.isArray(v) && v.length === 4 && typeof v[0] === 'string' && typeof v[1] === 'string' && typeof v[2] === 'number' && typeof v[3] === 'string';
}

/** A fresh SwarmPeer from a stored value; throws on bytes this codec did not write. */
export function decodePeer(sid: string, value: Buffer): SwarmPeer {
  if (value.length < HEAD) throw new Error(`swarm peer ${sid}: value of ${value.length} bytes is too short`);
  const flags = value[0] as number;
  const role = flags & SOURCE ? 'source' : 'viewer';
  const lastSeen = value.readDoubleBE(1);
  if (flags & TEXT) {
    const fields: unknown = JSON.parse(value.toString('utf8', HEAD));
    if (!isTextFields(fields)) throw new Error(`swarm peer ${sid}: malformed text fields`);
    const [ip, peerId, port, user] = fields;
    return { sid, user, peerId, ip, port, role, lastSeen };
  }
  if (value.length < COMPACT_HEAD) throw new Error(`swarm peer ${sid}: compact value of ${value.length} bytes is too short`);
  const a = HEAD + PEER_ID_BYTES;
  return {
    sid,
    user: value.toString('utf8', COMPACT_HEAD),
    peerId: value.toString('hex', HEAD, a),
    ip: `${value[a] as number}.${value[a + 1] as number}.${value[a + 2] as number}.${value[a + 3] as number}`,
    port: value.readUInt16BE(a + 4),
    role,
    lastSeen,
  };
}
