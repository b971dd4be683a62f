/**
 * Entitlement without anyone pressing a button: a viewer whose subscription
 * has expired, or is gone (revoked while the control server was down, or its
 * user removed), is disconnected through the same chain as a kick. So is a
 * viewer session still `admitted` (never reported joined by a tracker) a
 * token lifetime plus clock skew after its admission: a client that died
 * after admission (session-limit.ts, endStaleAdmitted).
 */
import type { ControlStore } from '../core/ports.js';
import type { DisconnectRecord } from '../core/types.js';
import { isSubscriptionActive } from './admission.js';
import { endStaleAdmitted } from './session-limit.js';

export const REASON_EXPIRED = 'subscription expired';
export const REASON_REVOKED = 'subscription revoked';
export const REASON_USER_REMOVED = 'user removed';
export const REASON_REKEYED = 'program rekeyed';

export async function checkSubscriptions(deps: {
  store: ControlStore;
  now: number;
  kick: (sid: string, reason: string) => Promise<DisconnectRecord>;
  /**
   * Never-joined bound: a viewer session still `admitted` this long after its
   * admission, and after `since` (the control server's start: joins that
   * happened while it was down arrive once the trackers reconnect), is ended.
   * Absent: admitted sessions are left alone.
   */
  staleAdmittedMs?: number;
  since?: number;
}): Promise<void> {
  const { store, now } = deps;
  let viewers = (await store.listSessions()).filter((s) => s.role === 'viewer');
  if (deps.staleAdmittedMs !== undefined && (deps.since ?? -Infinity) < now - deps.staleAdmittedMs) {
    viewers = await endStaleAdmitted(viewers, now - deps.staleAdmittedMs, deps.kick);
  }
  for (const s of viewers) {
    const sub = await store.getSubscription(s.user, s.program);
    if (isSubscriptionActive(sub, now)) continue;
    // kick is idempotent: a session already being ended keeps its one disconnect.
    await deps.kick(s.id, sub ? REASON_EXPIRED : REASON_REVOKED);
  }
}
