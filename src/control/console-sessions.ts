/**
 * The operator console's sign-in sessions, kept in memory: a restart of the
 * control server signs every console user out (they sign in again; scripts
 * use Basic auth and are not affected). Each id is 32 random bytes made here
 * (a client never picks one: no fixation), sent only in an HttpOnly cookie,
 * and kept only as its SHA-256, so a lookup compares hashes, not the secret.
 *
 * A session ends at sign-out, after CONSOLE_IDLE_MS without a request, at
 * CONSOLE_SESSION_MS after sign-in whatever its use, and as soon as its user
 * is removed, loses admin rights or has their password changed (the hash at
 * sign-in must still be the stored one). At most CONSOLE_MAX_SESSIONS live:
 * the oldest go first.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { ControlStore } from '../core/ports.js';
import type { User } from '../core/types.js';

/** Absolute lifetime of a console session (8 h: a working day). */
export const CONSOLE_SESSION_MS = 8 * 3600_000;
/** A console session unused this long ends (the console polls while open, so only a closed one idles). */
export const CONSOLE_IDLE_MS = 30 * 60_000;
/** Bound on live console sessions (memory; a sign-in flood has paid a throttled password check each). */
export const CONSOLE_MAX_SESSIONS = 1_000;

interface Entry {
  user: string;
  /** The password hash the user signed in against: a password change ends the session. */
  passwordHash: string;
  createdAt: number;
  lastSeen: number;
}

export interface ConsoleSession {
  user: string;
  /** When it ends at the latest (ms since the epoch). */
  expiresAt: number;
}

function digest(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

/** A cookie value this server could have made: 32 bytes, base64url (43 characters). */
const ID_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export class ConsoleSessions {
  /** sha256(id) → entry; Map order is creation order, so the first are the oldest. */
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly deps: { store: ControlStore; clock: Clock }) {}

  get size(): number {
    return this.entries.size;
  }

  /** A new session for an admin who has just proven their password; returns the id for the cookie. */
  create(user: User): { id: string; session: ConsoleSession } {
    const now = this.deps.clock.now();
    this.sweep(now);
    while (this.entries.size >= CONSOLE_MAX_SESSIONS) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    const id = randomBytes(32).toString('base64url');
    this.entries.set(digest(id), { user: user.name, passwordHash: user.passwordHash, createdAt: now, lastSeen: now });
    return { id, session: { user: user.name, expiresAt: now + CONSOLE_SESSION_MS } };
  }

  /**
   * The admin a cookie stands for, or undefined (unknown, ended, expired, or
   * the user is no longer an admin with the same password). A hit counts as use.
   */
  async resolve(id: string | undefined): Promise<{ user: User; session: ConsoleSession } | undefined> {
    if (id === undefined || !ID_SHAPE.test(id)) return undefined;
    const key = digest(id);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const now = this.deps.clock.now();
    if (this.expired(entry, now)) {
      this.entries.delete(key);
      return undefined;
    }
    const user = await this.deps.store.getUser(entry.user);
    if (!user?.isAdmin || user.passwordHash !== entry.passwordHash) {
      this.entries.delete(key);
      return undefined;
    }
    entry.lastSeen = now;
    return { user, session: { user: user.name, expiresAt: entry.createdAt + CONSOLE_SESSION_MS } };
  }

  /** Sign-out: the id is forgotten, so the cookie is worth nothing even if a copy survives. */
  end(id: string | undefined): boolean {
    if (id === undefined || !ID_SHAPE.test(id)) return false;
    return this.entries.delete(digest(id));
  }

  private expired(entry: Entry, now: number): boolean {
    return now >= entry.createdAt + CONSOLE_SESSION_MS || now >= entry.lastSeen + CONSOLE_IDLE_MS;
  }

  private sweep(now: number): void {
    for (const [key, entry] of this.entries) if (this.expired(entry, now)) this.entries.delete(key);
  }
}
