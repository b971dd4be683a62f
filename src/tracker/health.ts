/**
 * What the tracker's `GET /health` reports: `ok`, or `degraded` with reasons —
 * the control link is down (never up yet: no token key, so every announce is
 * refused; lost: joins and leaves queue and no disconnect can arrive), or too
 * many joins and leaves wait for the control server's ack, or the store the
 * trackers share their revocations through (Redis) cannot be reached: a
 * revocation made here meanwhile reaches the others only once it is back,
 * and announces that need the shared swarm fail. Counts only: no
 * session id, user or address leaves through it.
 */
import type { Clock } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import type { HealthReason } from '../protocol/control-api.js';

export type TrackerHealthCode = 'control_link_down' | 'no_control_key' | 'report_backlog' | 'shared_store_unreachable';

export interface TrackerHealth {
  status: 'ok' | 'degraded';
  reasons: HealthReason[];
  control_link: 'up' | 'down';
  /** Joins and leaves not yet acked by the control server. */
  pending_reports: number;
  /** Sessions held, and swarms (programs with at least one). */
  sessions: number;
  swarms: number;
  time: string;
}

export interface TrackerHealthDeps {
  clock: Clock;
  /** The control link's state (ControlLinkClient.connected / .pending); null before start(). */
  link: () => { connected: boolean; pending: number } | null;
  /** Whether a welcome ever gave the tracker the control server's token key. */
  hasKey: () => boolean;
  sessions: () => number;
  swarms: () => number;
  /** The revocation store's state (RevocationStore.status); absent: nothing shared. */
  shared?: () => { reachable: boolean; backlog: number };
  /** report_backlog above this many (DEFAULTS.healthReportBacklogMax). */
  maxPendingReports?: number;
}

const reason = (code: TrackerHealthCode, message: string): HealthReason => ({ code, message });

export function trackerHealth(deps: TrackerHealthDeps): () => TrackerHealth {
  const max = deps.maxPendingReports ?? DEFAULTS.healthReportBacklogMax;
  return () => {
    const link = deps.link();
    const connected = link?.connected ?? false;
    const pending = link?.pending ?? 0;
    const reasons: HealthReason[] = [];
    if (!connected && !deps.hasKey()) {
      reasons.push(reason('no_control_key', 'the control link has never completed its hello: no token key yet, so every announce is refused (the tracker keeps retrying; its log says why it fails)'));
    } else if (!connected) {
      reasons.push(reason('control_link_down', 'the control link is down: joins and leaves wait to be reported and no disconnect can arrive (the tracker keeps retrying; its log says why it fails)'));
    }
    const shared = deps.shared?.() ?? { reachable: true, backlog: 0 };
    if (!shared.reachable) {
      const waiting = shared.backlog > 0 ? `; ${shared.backlog} revocations made here wait to reach the other trackers` : '';
      reasons.push(reason('shared_store_unreachable', `the store shared with the other trackers (Redis) cannot be reached: announces that need it fail${waiting} (it reconnects by itself)`));
    }
    if (pending > max) {
      reasons.push(reason('report_backlog', `${pending} joins and leaves wait for the control server's ack (more than ${max})`));
    }
    return {
      status: reasons.length === 0 ? 'ok' : 'degraded',
      reasons,
      control_link: connected ? 'up' : 'down',
      pending_reports: pending,
      sessions: deps.sessions(),
      swarms: deps.swarms(),
      time: new Date(deps.clock.now()).toISOString(),
    };
  };
}
