/**
 * Login throttling: a sliding window of failed password checks per key (a user
 * name, a client address). A key at its limit is refused before any hashing,
 * and checks in flight count against the limit too (later ones wait for them),
 * so not even a burst of concurrent guesses gets more hashes than the limit:
 * a guess flood costs no scrypt beyond it.
 *
 * Nothing is locked for good: a failure leaves the window `windowMs` after it
 * happened, and refused attempts add none, so a throttled key is free again
 * one window after its guesses stop. Memory is bounded: a key holds at most
 * `limit` timestamps, and at most `maxKeys` keys are kept (expired ones swept
 * first, then the oldest dropped).
 */
import { createHash } from 'node:crypto';
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

/** One password check in flight: report how it ended (exactly once; later calls are ignored). */
export interface LoginAttempt {
  /** The check passed: it does not count against the keys. */
  succeeded(): void;
  /** The check failed: it counts until it leaves the window. */
  failed(): void;
}

export type ThrottleDecision = { allowed: true; attempt: LoginAttempt } | { allowed: false; retryAfterS: number };

/** A client address as a throttle key (IPv6 by its /64): core/address.ts. */
export { addressKey } from '../core/address.js';

/** A user name as a throttle key; a name longer than any real one (64) is kept as its hash, so keys stay small. */
export function userKey(name: string): string {
  return name.length <= 64 ? `user:${name}` : `user#${createHash('sha256').update(name).digest('base64url')}`;
}

interface KeyState {
  /** Timestamps (ms) of failed checks in the window, oldest first. */
  failures: number[];
  inFlight: number;
  /** Checks waiting for one in flight to settle. */
  waiters: Array<() => void>;
}

export class LoginThrottle {
  /** Map order is insertion order: the first keys are the oldest. */
  private readonly keys = new Map<string, KeyState>();

  constructor(
    private readonly clock: Clock,
    readonly limits: LoginLimits = DEFAULT_LOGIN_LIMITS,
  ) {}

  /** The number of keys tracked (for tests of the memory bound). */
  get size(): number {
    return this.keys.size;
  }

  /**
   * Asks to make one password check, counted against every key given, each
   * with its limit. Refused (with the seconds until a failure leaves the
   * window) if a key's failures reach its limit. If failures plus checks in
   * flight reach it, waits for one in flight to end, so concurrent right
   * passwords are served in turn while concurrent guesses never exceed it.
   */
  async begin(keys: ReadonlyArray<{ key: string; limit: number }>): Promise<ThrottleDecision> {
    for (;;) {
      const now = this.clock.now();
      let retryAfterMs = 0;
      let busy: KeyState | undefined;
      for (const { key, limit } of keys) {
        const state = this.live(key, now);
        if (!state) continue;
        if (state.failures.length >= limit) {
          const freesAt = (state.failures[state.failures.length - limit] ?? now) + this.limits.windowMs;
          retryAfterMs = Math.max(retryAfterMs, freesAt - now, 1);
        } else if (state.failures.length + state.inFlight >= limit) {
          busy = state;
        }
      }
      if (retryAfterMs > 0) return { allowed: false, retryAfterS: Math.ceil(retryAfterMs / 1000) };
      if (busy) {
        const state = busy;
        await new Promise<void>((resolve) => state.waiters.push(resolve));
        continue;
      }
      const counted = keys.map(({ key }): [string, KeyState] => [key, this.keys.get(key) ?? this.add(key, now)]);
      for (const [, state] of counted) state.inFlight++;
      let settled = false;
      const settle = (failed: boolean): void => {
        if (settled) return;
        settled = true;
        const at = this.clock.now();
        for (const [key, state] of counted) {
          state.inFlight--;
          if (failed) state.failures.push(at);
          for (const wake of state.waiters.splice(0)) wake();
          if (state.failures.length === 0 && state.inFlight === 0 && this.keys.get(key) === state) this.keys.delete(key);
        }
      };
      return { allowed: true, attempt: { succeeded: () => settle(false), failed: () => settle(true) } };
    }
  }

  /** The key's state with failures older than the window dropped; an idle key is forgotten. */
  private live(key: string, now: number): KeyState | undefined {
    const state = this.keys.get(key);
    if (!state) return undefined;
    const cutoff = now - this.limits.windowMs;
    let drop = 0;
    while (drop < state.failures.length && (state.failures[drop] ?? 0) <= cutoff) drop++;
    if (drop > 0) state.failures.splice(0, drop);
    if (state.failures.length === 0 && state.inFlight === 0 && state.waiters.length === 0) {
      this.keys.delete(key);
      return undefined;
    }
    return state;
  }

  private add(key: string, now: number): KeyState {
    if (this.keys.size >= this.limits.maxKeys) {
      for (const k of [...this.keys.keys()]) this.live(k, now);
      // Still full: drop the oldest tenth (so the sweep is not paid on every new key).
      // A flood big enough to get here has paid a hash per key.
      const keep = Math.floor(this.limits.maxKeys * 0.9);
      for (const k of this.keys.keys()) {
        if (this.keys.size <= keep) break;
        this.keys.delete(k);
      }
    }
    const state: KeyState = { failures: [], inFlight: 0, waiters: [] };
    this.keys.set(key, state);
    return state;
  }
}
