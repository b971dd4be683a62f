/**
 * The disconnect chain's vocabulary: how a tracker's leave reason ends a disconnect, timeline entries, what an onlooker
 * is told, the records disconnect-orchestrator.ts keeps and makes, and what it is given.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { ControlStore } from '../core/ports.js';
import type { DisconnectOutcome, DisconnectRecord, SessionRecord, TimelineEntry } from '../core/types.js';
import type { ControlToTracker } from '../protocol/control-link.js';
import type { ClusterOptions } from './disconnect-leases.js';

/** Tracker leave reason → how the disconnect ended and the timeline's name for it. */
export function classify(reason: string): { outcome: DisconnectOutcome; event: string } {
  switch (reason) {
    case 'stopped':
      return { outcome: 'stopped', event: 'client_stopped' };
    case 'timeout':
      return { outcome: 'timeout', event: 'client_timeout' };
    case 'lost':
      return { outcome: 'lost', event: 'client_lost' };
    case 'revoked':
      return { outcome: 'revoked', event: 'client_gone' };
    default:
      return { outcome: 'gone', event: 'client_gone' };
  }
}

export const entry = (at: number, event: string, detail?: string): TimelineEntry => (detail === undefined ? { at, event } : { at, event, detail });

/**
 * What the chain tells an onlooker (/metrics: control/metrics.ts) as it
 * happens. Calls are synchronous and must not throw.
 */
export interface DisconnectObserver {
  /** A session was set out to be ended by kick() (an operator kick, a revoked or expired subscription, a limit). */
  started(): void;
  /** A timeline step landed (command_sent, tracker_ack, client_stopped, …, control_ack), `ms` after its disconnect began. */
  step(event: string, ms: number): void;
  /** A command was sent again: step A's timer ran out, or its tracker said hello. */
  retried(): void;
  completed(outcome: DisconnectOutcome): void;
}

export const NO_OBSERVER: DisconnectObserver = { started() {}, step() {}, retried() {}, completed() {} };

/** A disconnect the orchestrator drives now (its step A timer and what the tracker has answered). */
export interface InFlight {
  sid: string;
  createdAt: number;
  reason: string;
  trackerId: string | null;
  attempts: number;
  acked: boolean;
  ackRecorded: boolean;
  timer: TimerHandle | null;
}

/** The disconnect made for a session that a tracker reported joined after it ended: it is ended there too. */
export function lateJoinDisconnect(a: { id: string; session: SessionRecord; trackerId: string; lastReason: string | undefined; now: number }): DisconnectRecord {
  return {
    id: a.id,
    sid: a.session.id,
    user: a.session.user,
    program: a.session.program,
    reason: a.lastReason ?? `session ended (${a.session.endReason ?? 'ended'})`,
    state: 'pending',
    outcome: null,
    trackerId: a.trackerId,
    attempts: 0,
    createdAt: a.now,
    completedAt: null,
    timeline: [entry(a.now, 'late_join', `${a.trackerId} reported a join after the session ended`)],
  };
}

export interface DisconnectSender {
  /** False when the tracker is not connected. */
  send(trackerId: string, msg: ControlToTracker): boolean;
}

export interface DisconnectOrchestratorOptions {
  store: ControlStore;
  clock: Clock;
  link: DisconnectSender;
  log: FastifyBaseLogger;
  /** Resend period of an unacked command (step A's timer). */
  retryMs?: number;
  /** How often sessions are checked against their subscriptions; null: never. */
  expiryCheckMs?: number | null;
  /** The same check ends viewer sessions still `admitted` this long after admission and after start(); absent: never. */
  staleAdmittedMs?: number;
  observer?: DisconnectObserver;
  /** Several control servers on one database: drive only leased disconnects. Absent: drive every pending one. */
  cluster?: ClusterOptions;
}
