/** The options, state, events and hooks of the control server's end of the control link (tracker-link.ts). */
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import type { Clock } from '../core/clock.js';
import type { MessageFaults } from '../core/faults.js';
import type { ControlStore } from '../core/ports.js';
import type { QoeItem } from '../protocol/qoe.js';
import type { TrackerConnection, TrackerRegistry } from './tracker-registry.js';

export interface LeftEvent {
  trackerId: string;
  sid: string;
  reason: string;
  ref: string | undefined;
}

/**
 * What the disconnect orchestrator needs from the link, awaited in the order
 * the tracker's messages arrive (so a tracker's ack is recorded before the
 * leave that follows it). `left` runs before the leave is acked: the ack tells
 * the tracker the control server has recorded the leave (step E).
 */
export interface TrackerLinkHooks {
  acked(ev: { trackerId: string; id: string }): Promise<void>;
  left(ev: LeftEvent): Promise<void>;
  /** After the ack of a leave went out (`sent`: false if the tracker was already gone). */
  leaveAcked(ev: LeftEvent & { sent: boolean }): Promise<void>;
  /** After a tracker's hello was answered and its sessions resynced. */
  hello(trackerId: string): Promise<void>;
  /** A tracker reported a join for a session that has already ended: it holds a client it must drop. */
  joinedAfterEnd(ev: { trackerId: string; sid: string }): Promise<void>;
  /** A joined session moved: another tracker reported it joined (its old one died, or its channel there broke). */
  moved(ev: { trackerId: string; sid: string; from: string }): Promise<void>;
}

export interface TrackerLinkEvents {
  /** A tracker reported a client in the swarm (step d). */
  joined: [{ trackerId: string; sid: string; ip: string; port: number }];
  /** A tracker reported a client gone (step D); `ref` is the disconnect it answers. */
  left: [{ trackerId: string; sid: string; reason: string; ref: string | undefined }];
  /** A tracker acknowledged one of our messages (step A's retry stops on this). */
  acked: [{ trackerId: string; id: string }];
  /** A tracker relayed clients' QoE reports (latest wins: never acked). */
  qoe: [{ trackerId: string; items: QoeItem[] }];
}

export interface TrackerLinkOptions {
  store: ControlStore;
  clock: Clock;
  trackers: TrackerRegistry;
  controlKey: string;
  /** The shared tracker secret (any tracker id); null: trackers' own credentials only (tracker-credentials.ts). */
  trackerSecret: string | null;
  /** Period of the re-check of linked trackers' credentials (default CREDENTIAL_CHECK_MS); null: never. */
  credentialCheckMs?: number | null;
  log: FastifyBaseLogger;
  path?: string;
  /** Ping period; a tracker silent for a whole period is cut off. null: no keepalive. */
  keepaliveMs?: number | null;
  /** Token lifetime: sessions ended within it are listed as revoked in the welcome (default DEFAULTS.tokenTtlS). */
  tokenTtlMs?: number;
  /** How long a session a reconnecting tracker did not list may take to be reported joined again (DEFAULTS.trackerRejoinGraceMs). */
  rejoinGraceMs?: number;
  /** Tests lose messages on purpose; the hello/welcome handshake is exempt (it has no retry: a lost one is a broken link). */
  faults?: MessageFaults;
}

export interface LinkState {
  ws: WebSocket;
  /** The tracker id its credential is for; null: the shared secret (any id). */
  credentialId: string | null;
  conn: TrackerConnection | null;
  badFrames: number;
  alive: boolean;
  /** Messages of one connection are handled in order. */
  queue: Promise<void>;
}
