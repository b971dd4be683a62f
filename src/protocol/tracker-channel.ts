/**
 * gatecast's tracker channel: one WebSocket per client at `/ws`, JSON text
 * frames. Carries announces, heartbeats and the peer list, and lets the tracker
 * push to the client (disconnect, revocation). See docs/PROTOCOL.md.
 */
import { Type, type Static } from '@sinclair/typebox';
import { jsonCodec } from './json-messages.js';

const Id = Type.String({ minLength: 1, maxLength: 64 });
const PeerIdHex = Type.String({ pattern: '^[0-9a-f]{40}$' });

export const ChannelPeer = Type.Object({
  sid: Type.String(),
  peer_id: PeerIdHex,
  ip: Type.String(),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  role: Type.Union([Type.Literal('viewer'), Type.Literal('source')]),
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
  }),
  /** Keeps the session alive; `token` replaces the held token after a renewal. */
  Type.Object({ type: Type.Literal('heartbeat'), token: Type.Optional(Type.String({ maxLength: 4096 })) }),
  /** Step C: the client is leaving (on its own, or answering a disconnect whose id is `ref`). */
  Type.Object({ type: Type.Literal('stopped'), id: Id, ref: Type.Optional(Id) }),
  Type.Object({ type: Type.Literal('ack'), id: Id }),
]);
export type ClientToTracker = Static<typeof ClientToTracker>;

export const TrackerToClient = Type.Union([
  Type.Object({
    type: Type.Literal('peers'),
    id: Id,
    interval_s: Type.Integer({ minimum: 1, maximum: 86_400 }),
    heartbeat_s: Type.Number({ minimum: 0.1, maximum: 3_600 }),
    complete: Type.Integer(),
    incomplete: Type.Integer(),
    peers: Type.Array(ChannelPeer),
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
