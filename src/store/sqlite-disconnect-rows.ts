/** Disconnect rows of the SQLite store ↔ DisconnectRecord; the timeline is a JSON column. */
import { InternalError } from '../core/errors.js';
import type { DisconnectOutcome, DisconnectRecord, DisconnectState, TimelineEntry } from '../core/types.js';

export interface DisconnectRow {
  id: string;
  sid: string;
  user: string;
  program: string;
  reason: string;
  state: DisconnectState;
  outcome: DisconnectOutcome | null;
  tracker_id: string | null;
  attempts: number;
  created_at: number;
  completed_at: number | null;
  timeline: string;
}

function isEntry(v: unknown): v is TimelineEntry {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return typeof e['at'] === 'number' && typeof e['event'] === 'string' && (e['detail'] === undefined || typeof e['detail'] === 'string');
}

export function parseTimeline(text: string): TimelineEntry[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InternalError('disconnect timeline is not JSON', { cause: err });
  }
  return toTimeline(value);
}

/** A parsed timeline checked entry by entry (the PostgreSQL store's jsonb column arrives parsed). */
export function toTimeline(value: unknown): TimelineEntry[] {
  if (!Array.isArray(value) || !value.every(isEntry)) throw new InternalError('disconnect timeline has a bad shape');
  return value.map((e) => (e.detail === undefined ? { at: e.at, event: e.event } : { at: e.at, event: e.event, detail: e.detail }));
}

export const toDisconnect = (r: DisconnectRow): DisconnectRecord => ({
  id: r.id,
  sid: r.sid,
  user: r.user,
  program: r.program,
  reason: r.reason,
  state: r.state,
  outcome: r.outcome,
  trackerId: r.tracker_id,
  attempts: r.attempts,
  createdAt: r.created_at,
  completedAt: r.completed_at,
  timeline: parseTimeline(r.timeline),
});
