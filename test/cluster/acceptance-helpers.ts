/**
 * Shared bits of the cluster acceptance tests (issue 12): a Redis database
 * of the test's own, the joined sessions as a control server lists them,
 * playback continuity between two snapshots, and health as each server
 * reports it.
 */
import { adminClient } from '../../src/cli/control-client.js';
import type { HealthReason } from '../../src/protocol/control-api.js';
import { REDIS_TEST_URL } from '../store/redis-test-db.js';

/** The test Redis server's database `db` (the cluster claims a whole database: its keys are removed at stop()). */
export function redisDb(db: number): string {
  const u = new URL(REDIS_TEST_URL);
  u.pathname = `/${db}`;
  return u.toString();
}

export interface Joined {
  role: 'viewer' | 'source';
  /** The tracker holding it: its announce URL's host:port. */
  tracker: string;
}

/** Joined sessions as the control server at `url` lists them, by session id. */
export async function joinedOn(url: string, adminPassword: string): Promise<Map<string, Joined>> {
  const out = new Map<string, Joined>();
  for (const s of await adminClient(url, adminPassword).listSessions()) if (s.state === 'joined') out.set(s.id, { role: s.role, tracker: s.tracker ?? '' });
  return out;
}

/** onTime ÷ due between two snapshots of a viewer's playback (1 when nothing came due). */
export function continuity(a: { onTime: number; late: number }, b: { onTime: number; late: number }): number {
  const due = b.onTime + b.late - (a.onTime + a.late);
  return due === 0 ? 1 : (b.onTime - a.onTime) / due;
}

/** GET a health document: its status and reason codes. */
export async function healthOf(url: string): Promise<{ status: string; codes: string[] }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { status: string; reasons: HealthReason[] };
  return { status: body.status, codes: body.reasons.map((r) => r.code) };
}
