/**
 * Client-measured quality of experience: what a viewer reports in its tracker
 * heartbeats and the tracker relays over the control link. Every figure is
 * bounded, so a report can neither break a parser nor skew an aggregate
 * without limit. Latest wins: a report replaces the session's previous one.
 * See docs/PROTOCOL.md.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

const DAY_S = 86_400;
/** 100 Gbit/s: no client measures more. */
const MAX_BPS = 1e11;
const Share = Type.Number({ minimum: 0, maximum: 1 });
const Seconds = Type.Number({ minimum: 0, maximum: 365 * DAY_S });
const Bps = Type.Number({ minimum: 0, maximum: MAX_BPS });
const Bytes = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

export const Qoe = Type.Object(
  {
    /** Pieces present by their playback deadline ÷ pieces due; 1 before any was due. */
    continuity: Share,
    /** Seconds the player waited for late pieces, since the session started. */
    stalled_s: Seconds,
    /** Program request → first byte to the player; null before playback. */
    startup_s: Type.Union([Seconds, Type.Null()]),
    /** How far playback is behind the source; null before playback. */
    behind_live_s: Type.Union([Seconds, Type.Null()]),
    down_bps: Bps,
    up_bps: Bps,
    /** Of the bytes downloaded, the share from other viewers (not the source); null before any. */
    from_peers_share: Type.Union([Share, Type.Null()]),
    peers: Type.Integer({ minimum: 0, maximum: 100_000 }),
    /** Totals since the session started: what the program's bytes-weighted share is computed from. */
    bytes_from_peers: Bytes,
    bytes_from_source: Bytes,
    bytes_uploaded: Bytes,
    /** Rate of bytes from the source over the last report period: what the source uploads to this viewer. */
    from_source_bps: Bps,
  },
  { additionalProperties: false },
);
export type Qoe = Static<typeof Qoe>;

const checkQoe = TypeCompiler.Compile(Qoe);

/**
 * A heartbeat's `qoe`, checked on its own: a report that does not match (a
 * buggy client, or a newer one with fields this version does not know) is
 * ignored, and the heartbeat that carried it still counts. QoE must never
 * cost a session.
 */
export function parseQoe(v: unknown): { qoe: Qoe } | { error: string } {
  if (checkQoe.Check(v)) return { qoe: v };
  const first = checkQoe.Errors(v).First();
  return { error: first ? `${first.path || '/'}: ${first.message}` : 'does not match the schema' };
}

/** One session's latest report, as the tracker relays it: `age_ms` since the tracker received it (no clock skew between hosts). */
export const QoeItem = Type.Object(
  {
    sid: Type.String({ minLength: 1, maxLength: 128 }),
    qoe: Qoe,
    age_ms: Type.Integer({ minimum: 0, maximum: DAY_S * 1000 }),
  },
  { additionalProperties: false },
);
export type QoeItem = Static<typeof QoeItem>;

const checkItem = TypeCompiler.Compile(QoeItem);

/** The items of a control-link `qoe` frame that match QoeItem; the others are counted, not taken. */
export function takeQoeItems(items: unknown[]): { items: QoeItem[]; dropped: number } {
  const ok: QoeItem[] = [];
  for (const item of items) if (checkItem.Check(item)) ok.push(item);
  return { items: ok, dropped: items.length - ok.length };
}

/** At most this many items in one control-link `qoe` frame (about 300 bytes each: well under the 64 KiB frame limit). */
export const QOE_ITEMS_MAX = 100;

/** A finite number clamped to [lo, hi]; `fallback` for NaN. */
export function clampFinite(v: number, lo: number, hi: number, fallback = lo): number {
  if (Number.isNaN(v)) return fallback;
  return Math.min(hi, Math.max(lo, v));
}

export const QOE_LIMITS = { maxBps: MAX_BPS, maxSeconds: 365 * DAY_S, maxPeers: 100_000 } as const;
