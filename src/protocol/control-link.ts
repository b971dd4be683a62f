/**
 * The control link: one persistent WebSocket from each tracker to the control
 * server at /v1/tracker/link, authenticated with the tracker secret
 * (Authorization: Bearer). Every message that changes state has an id and is
 * retried until acked; handlers are idempotent. See docs/PROTOCOL.md.
 */
import { Type, type Static } from '@sinclair/typebox';
import { jsonCodec } from './json-messages.js';
import { QOE_ITEMS_MAX } from './qoe.js';

const Id = Type.String({ minLength: 1, maxLength: 64 });

export const TrackerToControl = Type.Union([
  /** First message after connecting; `sessions` are the sids the tracker holds now (resync). */
  Type.Object({
    type: Type.Literal('hello'),
    tracker_id: Type.String({ minLength: 1, maxLength: 128 }),
    announce_url: Type.String(),
    ws_url: Type.String(),
    sessions: Type.Array(Type.String()),
  }),
  Type.Object({
    type: Type.Literal('join'),
    id: Id,
    sid: Type.String(),
    ip: Type.String(),
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
    at: Type.Integer(),
  }),
  /** Step D: the client is gone (`stopped`, `timeout`, `revoked`). `ref`: the disconnect it answers. */
  Type.Object({
    type: Type.Literal('leave'),
    id: Id,
    sid: Type.String(),
    reason: Type.String(),
    ref: Type.Optional(Id),
    at: Type.Integer(),
  }),
  Type.Object({ type: Type.Literal('ack'), id: Id }),
  /**
   * Clients' latest QoE reports (each a qoe.ts QoeItem, checked one by one: an item the control server cannot take is
   * dropped, never the frame or the link). Latest wins: no id, no ack, no resend (a lost frame is replaced by the next).
   * Sent only to a control server whose welcome said `qoe: true`.
   */
  Type.Object({ type: Type.Literal('qoe'), items: Type.Array(Type.Unknown(), { minItems: 1, maxItems: QOE_ITEMS_MAX }) }),
]);
export type TrackerToControl = Static<typeof TrackerToControl>;

export const ControlToTracker = Type.Union([
  /**
   * Answer to hello: the key that verifies tokens. `revoked`: sids whose session
   * has ended while their tokens may still be valid, so a restarted tracker
   * keeps refusing them (it forgot its own revocations). Only sessions whose
   * tokens have not yet expired need listing: the frame must stay under 64 KiB.
   */
  Type.Object({
    type: Type.Literal('welcome'),
    control_key: Type.String(),
    heartbeat_timeout_ms: Type.Optional(Type.Integer()),
    revoked: Type.Optional(Type.Array(Type.String({ maxLength: 128 }))),
    /** The control server takes `qoe` frames (one without this flag would count them as bad frames). */
    qoe: Type.Optional(Type.Boolean()),
  }),
  /** Step A: end session `sid`. Retried until acked. */
  Type.Object({ type: Type.Literal('disconnect'), id: Id, sid: Type.String(), reason: Type.String() }),
  Type.Object({ type: Type.Literal('ack'), id: Id }),
]);
export type ControlToTracker = Static<typeof ControlToTracker>;

export const trackerToControl = jsonCodec(TrackerToControl, 'control link');
export const controlToTracker = jsonCodec(ControlToTracker, 'control link');

/** Close code of a link whose hello claims the id of a tracker that is still connected (the first one stays). */
export const DUPLICATE_ID_CLOSE = 4409;

/**
 * Close code of a link whose hello the control server could not handle (its database failed): no welcome will come
 * on it. The tracker redials with backoff and should log the close reason; the control server's health says why.
 */
export const HELLO_FAILED_CLOSE = 4503;

/** Close code of a link whose hello claims a tracker id other than its credential's. */
export const CREDENTIAL_MISMATCH_CLOSE = 4403;
/** Close code of a link whose tracker credential was revoked while it was up (its redials are refused with 401). */
export const CREDENTIAL_REVOKED_CLOSE = 4401;

/** The secret part of a tracker's own credential: `gct_` and 43 base64url characters (no dot). */
const TRACKER_SECRET_RE = /^gct_[A-Za-z0-9_-]{43}$/;
/** What a tracker id may be when it gets a credential: host:port, [v6]:port, names; no spaces, no control characters. */
export const TRACKER_ID_PATTERN = '^[A-Za-z0-9._:\\[\\]@-]{1,128}$';
const TRACKER_ID_RE = new RegExp(TRACKER_ID_PATTERN);

export function isTrackerId(id: string): boolean {
  return TRACKER_ID_RE.test(id);
}

/**
 * A tracker's own control-link credential, `ID.SECRET`, split at its last dot
 * (tracker ids, host:port by default, may hold dots); null for anything else
 * (the shared tracker secret, or garbage). Both ends parse it here.
 */
export function parseTrackerCredential(bearer: string): { id: string; secret: string } | null {
  const dot = bearer.lastIndexOf('.');
  if (dot <= 0) return null;
  const id = bearer.slice(0, dot);
  const secret = bearer.slice(dot + 1);
  if (!TRACKER_SECRET_RE.test(secret) || !isTrackerId(id)) return null;
  return { id, secret };
}
