/**
 * What a (re)connecting tracker must keep refusing: sessions being ended or
 * ended recently enough that a token issued to them may still be valid. A
 * restarted tracker has forgotten its own revocations, and a client holding
 * such a token would otherwise announce its way back in.
 */
import type { ControlStore } from '../core/ports.js';
import { RENEW_SKEW_MS } from './admission.js';

/** Keeps the welcome frame well under the link's 64 KiB frame limit. */
export const MAX_REVOKED_BYTES = 48 * 1024;

/** Sids, most urgent first (pending disconnects, then most recently ended), capped to fit one frame. */
export async function revokedSessions(store: ControlStore, now: number, tokenTtlMs: number): Promise<string[]> {
  const pending = (await store.listDisconnects({ pending: true })).map((d) => d.sid);
  // A session's last token was issued no later than its end, so it is dead one lifetime (plus clock skew) after.
  const ended = (await store.listSessions({ includeEnded: true, endedAfter: now - tokenTtlMs - RENEW_SKEW_MS }))
    .filter((s) => s.state === 'ended')
    .sort((a, b) => (b.endedAt ?? 0) - (a.endedAt ?? 0))
    .map((s) => s.id);
  const out: string[] = [];
  const seen = new Set<string>();
  let bytes = 0;
  for (const sid of [...pending, ...ended]) {
    if (seen.has(sid)) continue;
    bytes += sid.length + 3;
    if (bytes > MAX_REVOKED_BYTES) break;
    seen.add(sid);
    out.push(sid);
  }
  return out;
}
