/**
 * gatecast's tracker channel: one WebSocket per client at `/ws`, JSON text
 * frames. Carries announces, heartbeats and the peer list, and lets the tracker
 * push to the client (disconnect, revocation). See docs/PROTOCOL.md.
 */
import { Type, type Static } from '@sinclair/typebox';
import { jsonCodec } from './json-messages.js';

const Id = Type.String({ minLength: 1, maxLength: 64 });
const PeerIdHex = Type.String({ pattern: '^[0-9a-f]{40}$' });
/** 32 random bytes, base64url: the channel's challenge. */
const Nonce = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' });
/** An Ed25519 signature (64 bytes), base64url. */
const Signature = Type.String({ pattern: '^[A-Za-z0-9_-]{86}$' });

/** Domain separation of the channel proof: nothing else gatecast signs starts with this. */
export const CHANNEL_PROOF_CONTEXT = 'gatecast-tracker-channel-v1';

/**
 * What an announce's `proof` signs (with the token's client key): the
 * channel's nonce, so a proof is good on one channel only, and the session,
 * swarm, peer id and port it announces, so it cannot be moved to another
 * announce. Every field has a fixed alphabet without newlines: the join is
 * unambiguous.
 */
export function channelProofMessage(p: { nonce: string; sid: string; infoHash: string; peerId: string; port: number }): Buffer {
  return Buffer.from([CHANNEL_PROOF_CONTEXT, p.nonce, p.sid, p.infoHash, p.peerId, String(p.port)].join('\n'), 'utf8');
}

export const ChannelPeer = Type.Object({
  sid: Type.String(),
  peer_id: PeerIdHex,
  ip: Type.String(),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  role: Type.Union([Type.Literal('viewer'), Type.Literal('source')]),
  /**
   * The session's client key (raw Ed25519, base64url), when this tracker holds
   * the session: a dialer sends its token only to the end of the Noise channel
   * that proved this key, not to whoever answers at the address.
   */
  key: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' })),
});
export type ChannelPeer = Static<typeof ChannelPeer>;

export const ClientToTracker = Type.Union([
  Type.Object({
    type: Type.Literal('announce'),
    id: Id,
    token: Type.String({ maxLength: 4096 }),
    info_hash: Type.String({ pattern: '^[0-9a-f]{40}$' }),
    peer_id: PeerIdHex,
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    numwant: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
    uploaded: Type.Optional(Type.Integer({ minimum: 0 })),
    downloaded: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Ed25519 signature by the token's client key over channelProofMessage(); refused without it. */
    proof: Type.Optional(Signature),
  }),
  /**
   * Keeps the session alive; `token` replaces the held token after a renewal; `qoe`: the client's latest figures,
   * checked on its own (qoe.ts parseQoe) so that a report the tracker cannot take never costs the heartbeat.
   */
  Type.Object({ type: Type.Literal('heartbeat'), token: Type.Optional(Type.String({ maxLength: 4096 })), qoe: Type.Optional(Type.Unknown()) }),
  /** Step C: the client is leaving (on its own, or answering a disconnect whose id is `ref`). */
  Type.Object({ type: Type.Literal('stopped'), id: Id, ref: Type.Optional(Id) }),
  Type.Object({ type: Type.Literal('ack'), id: Id }),
]);
export type ClientToTracker = Static<typeof ClientToTracker>;

export const TrackerToClient = Type.Union([
  /** First frame on every channel: the challenge every announce's proof signs. */
  Type.Object({ type: Type.Literal('welcome'), nonce: Nonce }),
  Type.Object({
    type: Type.Literal('peers'),
    id: Id,
    interval_s: Type.Integer({ minimum: 1, maximum: 86_400 }),
    heartbeat_s: Type.Number({ minimum: 0.1, maximum: 3_600 }),
    complete: Type.Integer(),
    incomplete: Type.Integer(),
    peers: Type.Array(ChannelPeer),
    /** The program's recently revoked sessions whose tokens may still be valid: refuse them. */
    revoked: Type.Optional(Type.Array(Type.String({ maxLength: 128 }))),
  }),
  Type.Object({ type: Type.Literal('error'), id: Type.Optional(Id), code: Type.String(), message: Type.String() }),
  /** Step B: end your session. Retried until the client answers `stopped` with ref = id. */
  Type.Object({ type: Type.Literal('disconnect'), id: Id, reason: Type.String() }),
  /** Enforcement: session `sid` was revoked; drop and refuse it. */
  Type.Object({ type: Type.Literal('revoked'), id: Id, sid: Type.String() }),
  Type.Object({ type: Type.Literal('ack'), id: Id }),
]);
export type TrackerToClient = Static<typeof TrackerToClient>;

export const clientToTracker = jsonCodec(ClientToTracker, 'tracker channel');
export const trackerToClient = jsonCodec(TrackerToClient, 'tracker channel');
