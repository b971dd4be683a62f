/**
 * Login throttling: a sliding window of failed password checks per key (a user
 * name, a client address). A check is counted *before* it is made (as in
 * flight) and forgotten only if it succeeds, so a burst of concurrent guesses
 * cannot get more hashes than the limit, and a key at its limit is refused
 * before any hashing: a guess flood costs no scrypt beyond the limit.
 *
 * Nothing is locked for good: an entry leaves the window `windowMs` after it
 * was made, and refused attempts add no entries, so a throttled key is free
 * again one window after its guesses stop. Memory is bounded: a key holds at
 * most `limit` timestamps, and at most `maxKeys` keys are kept (expired ones
 * swept first, then the oldest dropped).
 */
import type { Clock } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';

export interface LoginLimits {
  perUser: number;
  perAddress: number;
  windowMs: number;
  maxKeys: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  perUser: DEFAULTS.loginFailuresPerUser,
  perAddress: DEFAULTS.loginFailuresPerAddress,
  windowMs: DEFAULTS.loginWindowMs,
  maxKeys: DEFAULTS.loginMaxTrackedKeys,
};

/** One password check in flight: report how it ended. */
export interface LoginAttempt {
  /** The check passed: it does not count against the keys. */
  succeeded(): void;
  /** The check failed: it stays counted until it leaves the window. */
  failed(): void;
}

export type ThrottleDecision = { allowed: true; attempt: LoginAttempt } | { allowed: false; retryAfterS: number };

/** A client address as a throttle key: IPv6 addresses by their /64, since one host usually holds a whole /64. */
export function addressKey(ip: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4?.[1]) return `addr:${v4[1]}`;
  if (!ip.includes(':')) return `addr:${ip}`;
  const [head = '', tail] = ip.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `addr:${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export const userKey = (name: string): string => `user:${name}`;

export class LoginThrottle {
  /** key → timestamps (ms) of failures and checks in flight, oldest first; Map order is insertion order. */
  private readonly entries = new Map<string, number[]>();

  constructor(
    private readonly clock: Clock,
    readonly limits: LoginLimits = DEFAULT_LOGIN_LIMITS,
  ) {}

  /** The number of keys tracked (for tests of the memory bound). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Asks to make one password check counted against every key given, each
   * with its limit. Refused (with the seconds until a slot frees) if any key
   * is at its limit; otherwise the attempt is counted on all of them.
   */
  begin(keys: ReadonlyArray<{ key: string; limit: number }>): ThrottleDecision {
    const now = this.clock.now();
    let retryAfterMs = 0;
    for (const { key, limit } of keys) {
      const list = this.live(key, now);
      if (list && list.length >= limit) {
        const freesAt = (list[list.length - limit] ?? now) + this.limits.windowMs;
        retryAfterMs = Math.max(retryAfterMs, freesAt - now);
      }
    }
    if (retryAfterMs > 0) return { allowed: false, retryAfterS: Math.max(1, Math.ceil(retryAfterMs / 1000)) };
    const counted: Array<[string, number[]]> = [];
    for (const { key } of keys) {
      const list = this.entries.get(key) ?? this.add(key, now);
      list.push(now);
      counted.push([key, list]);
    }
    let settled = false;
    return {
      allowed: true,
      attempt: {
        succeeded: () => {
          if (settled) return;
          settled = true;
          for (const [key, list] of counted) {
            const i = list.lastIndexOf(now);
            if (i >= 0) list.splice(i, 1);
            if (list.length === 0 && this.entries.get(key) === list) this.entries.delete(key);
          }
        },
        failed: () => {
          settled = true;
        },
      },
    };
  }

  /** The key's list with entries older than the window dropped (the key itself if none is left). */
  private live(key: string, now: number): number[] | undefined {
    const list = this.entries.get(key);
    if (!list) return undefined;
    const cutoff = now - this.limits.windowMs;
    let drop = 0;
    while (drop < list.length && (list[drop] ?? 0) <= cutoff) drop++;
    if (drop > 0) list.splice(0, drop);
    if (list.length === 0) {
      this.entries.delete(key);
      return undefined;
    }
    return list;
  }

  private add(key: string, now: number): number[] {
    if (this.entries.size >= this.limits.maxKeys) {
      for (const k of [...this.entries.keys()]) this.live(k, now);
      // Still full: drop the oldest tenth (so the sweep is not paid on every new key).
      // A flood big enough to get here has paid a hash per key.
      const keep = Math.floor(this.limits.maxKeys * 0.9);
      for (const k of this.entries.keys()) {
        if (this.entries.size <= keep) break;
        this.entries.delete(k);
      }
    }
    const list: number[] = [];
    this.entries.set(key, list);
    return list;
  }
}
