/** What the ControlStore compliance suites share: records to store, and the store under test. */
import assert from 'node:assert/strict';
import { ClientError } from '../../src/core/errors.js';
import type { ControlStore } from '../../src/core/ports.js';
import type { DisconnectRecord, Program, SessionRecord, User } from '../../src/core/types.js';

/** The store each test gets (made and migrated in the suite's beforeEach). */
export interface StoreContext {
  store: ControlStore;
}

export const user = (name: string, isAdmin = false): User => ({ name, passwordHash: `hash-of-${name}`, isAdmin, createdAt: 1_000, maxSessions: null });

export const program = (id: string, lengthS: number | null = null): Program => ({
  id,
  title: `Title ${id}`,
  bitrateBps: 2_000_000,
  lengthS,
  sourcePublicKey: `pub-${id}`,
  sourcePrivateKey: `priv-${id}`,
  packetsPerPiece: 174,
  createdAt: 2_000,
});

export const session = (id: string, over: Partial<SessionRecord> = {}): SessionRecord => ({
  id,
  user: 'alice',
  program: 'news',
  role: 'viewer',
  clientKey: `ckey-${id}`,
  state: 'admitted',
  ip: null,
  port: null,
  trackerId: null,
  createdAt: 3_000,
  joinedAt: null,
  endedAt: null,
  endReason: null,
  ...over,
});

export const disconnect = (id: string, over: Partial<DisconnectRecord> = {}): DisconnectRecord => ({
  id,
  sid: 's1',
  user: 'alice',
  program: 'news',
  reason: 'kicked',
  state: 'pending',
  outcome: null,
  trackerId: 't1',
  attempts: 0,
  createdAt: 5_000,
  completedAt: null,
  timeline: [],
  ...over,
});

export async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof ClientError && err.code === code);
}
