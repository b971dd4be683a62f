/**
 * Entitlement without anyone pressing a button: a viewer whose subscription
 * has expired, or is gone (revoked while the control server was down, or its
 * user removed), is disconnected through the same chain as a kick.
 */
import type { ControlStore } from '../core/ports.js';
import type { DisconnectRecord } from '../core/types.js';
import { isSubscriptionActive } from './admission.js';

export const REASON_EXPIRED = 'subscription expired';
export const REASON_REVOKED = 'subscription revoked';
export const REASON_USER_REMOVED = 'user removed';
export const REASON_REKEYED = 'program rekeyed';

export async function checkSubscriptions(deps: {
  store: ControlStore;
  now: number;
  kick: (sid: string, reason: string) => Promise<DisconnectRecord>;
}): Promise<void> {
  const { store, now } = deps;
  for (const s of await store.listSessions()) {
    if (s.role !== 'viewer') continue;
    const sub = await store.getSubscription(s.user, s.program);
    if (isSubscriptionActive(sub, now)) continue;
    // kick is idempotent: a session already being ended keeps its one disconnect.
    await deps.kick(s.id, sub ? REASON_EXPIRED : REASON_REVOKED);
  }
}
