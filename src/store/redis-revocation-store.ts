/**
 * The revocation list shared by every tracker on one Redis (issue 12): what
 * one tracker revokes, the others refuse, push to their own clients and list
 * to newcomers within milliseconds. Behind the RevocationStore port and the
 * compliance suite the memory store runs.
 *
 * Key layout (after the prefix, `gatecast:` by default):
 *   revoked          hash     sid → the revocation as JSON (~150 B)
 *   revoked:keep     zset     sid scored by keepUntil: forgotten in order, without a scan
 *   revoked          channel  each shared revocation, the same JSON, published in the write's script
 * A share is one script (HSET, ZADD, trim of a batch of forgotten ones, key
 * TTL, PUBLISH), so a tracker that reads the hash after subscribing misses
 * nothing: a revocation written before its read is in the hash, one written
 * after is published to it.
 *
 * Two connections: commands, and the subscriber (a subscribed connection runs
 * nothing else). Nothing is lost to a cut:
 *   - a share that fails (Redis away) stays in an outbox, retried every
 *     `retryMs` and as soon as the command connection is back;
 *   - each time the subscriber connection is (re)established, it subscribes
 *     again and the whole hash is read again and delivered, so whatever was
 *     published while it was cut off arrives anyway.
 * Subscribers get every revocation, their own included, more than once
 * across reloads: the tracker's cache merges them (Revocations.learn).
 */
import type { Redis } from 'ioredis';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { RevocationRecord, RevocationStore } from '../core/ports.js';
import { InternalError } from '../core/errors.js';
import { connectRedis, parseRedisUrl } from './redis-connection.js';
import { SHARE_REVOCATION } from './redis-revocation-scripts.js';
import type { LuaScript } from './redis-swarm-scripts.js';

export interface RedisRevocationStoreOptions {
  /** Prepended to every key and to the channel: trackers sharing revocations share it. */
  prefix: string;
  clock: Pick<Clock, 'now' | 'setTimeout'>;
  /** The URL without password, for error messages. */
  display: string;
  /** Resend period of shares Redis did not take, and of a failed reload. */
  retryMs?: number;
  /**
   * A PING this often (REVOCATION_PROBE_MS), so status() finds a Redis that keeps the connection but does not
   * answer (it fails within the command timeout); null: none, status() reads the connections and the last call.
   */
  probeMs?: number | null;
  /** A share or reload that failed (logged by the caller; retried here). */
  onError?: (err: Error) => void;
}

export const REVOCATION_RETRY_MS = 1_000;
export const REVOCATION_PROBE_MS = 5_000;

/** A failed Redis call, as the tracker logs it. */
function failure(display: string, op: string, err: unknown): InternalError {
  return new InternalError(`revocation store: Redis at ${display} failed on ${op}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
const SCAN_COUNT = 500;

function isText(v: unknown): v is string {
  return typeof v === 'string';
}
function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
function isTextOrNull(v: unknown): v is string | null {
  return v === null || typeof v === 'string';
}

export function encodeRevocation(r: RevocationRecord): string {
  return JSON.stringify({ sid: r.sid, at: r.at, ref: r.ref, reason: r.reason, program: r.program, until: r.until, keep: r.keepUntil });
}

/** The record a stored or published text holds; null for text this store did not write. */
export function decodeRevocation(text: string): RevocationRecord | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const { sid, at, ref, reason, program, until, keep } = o;
  if (!isText(sid) || !isTime(at) || !isTextOrNull(ref) || !isTextOrNull(reason) || !isTextOrNull(program) || !isTime(until) || !isTime(keep)) return null;
  return { sid, at, ref, reason, program, until, keepUntil: keep };
}

export class RedisRevocationStore implements RevocationStore {
  private readonly hashKey: string;
  private readonly keepKey: string;
  private readonly channel: string;
  private readonly retryMs: number;
  /** Shares not yet taken by Redis, by sid (a newer one for the same sid replaces the older). */
  private readonly outbox = new Map<string, RevocationRecord>();
  private onRevoked: ((r: RevocationRecord) => void) | null = null;
  private flushing = false;
  private flushTimer: TimerHandle | null = null;
  private reloadTimer: TimerHandle | null = null;
  private probeTimer: TimerHandle | null = null;
  /** Bumped by each (re)subscription: a reload that a newer one overtook stops. */
  private generation = 0;
  /** The last command failed: Redis may hold the connection yet not answer (a stall). */
  private failing = false;
  /** A reload failed and has not succeeded since. */
  private reloadOwed = false;
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly sub: Redis,
    private readonly opts: RedisRevocationStoreOptions,
  ) {
    this.hashKey = `${opts.prefix}revoked`;
    this.keepKey = `${opts.prefix}revoked:keep`;
    this.channel = `${opts.prefix}revoked`;
    this.retryMs = opts.retryMs ?? REVOCATION_RETRY_MS;
    const probeMs = opts.probeMs === undefined ? REVOCATION_PROBE_MS : opts.probeMs;
    if (probeMs !== null) this.probe(probeMs);
    redis.on('ready', () => {
      this.flush();
      // A reload that failed because this connection was not back yet: now it can run.
      if (this.reloadOwed && this.onRevoked) this.resubscribe();
    });
    sub.on('ready', () => {
      if (this.onRevoked) this.resubscribe();
    });
    sub.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const r = decodeRevocation(message);
      if (r && this.onRevoked) this.onRevoked(r);
    });
  }

  share(r: RevocationRecord): void {
    if (this.closed) return;
    this.outbox.set(r.sid, { ...r });
    this.flush();
  }

  async subscribe(onRevoked: (r: RevocationRecord) => void): Promise<void> {
    this.onRevoked = onRevoked;
    const generation = ++this.generation;
    try {
      await this.sub.subscribe(this.channel);
      await this.reload(generation);
    } catch (err) {
      throw failure(this.opts.display, 'subscribe', err);
    }
  }

  status(): { reachable: boolean; backlog: number } {
    const up = this.redis.status === 'ready' && this.sub.status === 'ready' && !this.failing;
    return { reachable: up, backlog: this.outbox.size };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.flushTimer?.cancel();
    this.reloadTimer?.cancel();
    this.probeTimer?.cancel();
    this.onRevoked = null;
    for (const conn of [this.sub, this.redis]) {
      if (conn.status === 'ready') await conn.quit().catch(() => conn.disconnect());
      else conn.disconnect();
    }
  }

  /** The subscriber connection is back: subscribe again (ioredis may have already) and read everything again. */
  private resubscribe(): void {
    const generation = ++this.generation;
    this.sub
      .subscribe(this.channel)
      .then(() => this.reload(generation))
      .catch((err: unknown) => {
        if (generation !== this.generation || this.closed) return;
        this.reloadOwed = true;
        this.failed('reload', err);
        this.reloadTimer?.cancel();
        this.reloadTimer = this.opts.clock.setTimeout(() => {
          this.reloadTimer = null;
          if (generation === this.generation) this.resubscribe();
        }, this.retryMs);
      });
  }

  /**
   * Delivers every revocation held now, oldest first (so a cache lists the newest last), unless a newer reload
   * started meanwhile; throws what Redis throws.
   */
  private async reload(generation: number): Promise<void> {
    const now = this.opts.clock.now();
    const found: RevocationRecord[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.hashKey, cursor, 'COUNT', SCAN_COUNT);
      cursor = next;
      for (let i = 1; i < flat.length; i += 2) {
        const r = decodeRevocation(flat[i] as string);
        if (r && r.keepUntil > now) found.push(r);
      }
    } while (cursor !== '0');
    if (generation !== this.generation || this.closed) return;
    found.sort((a, b) => a.at - b.at);
    for (const r of found) this.onRevoked?.(r);
    this.reloadOwed = false;
    this.failing = false;
  }

  /** Writes the outbox, oldest first, one script each; stops at the first failure and tries again later. */
  private flush(): void {
    if (this.flushing || this.closed || this.outbox.size === 0) return;
    this.flushing = true;
    void (async () => {
      let ok = true;
      try {
        for (const [sid, r] of this.outbox) {
          await this.run(SHARE_REVOCATION, [sid, encodeRevocation(r), String(r.keepUntil), String(this.opts.clock.now()), this.channel]);
          // Only if no newer share for the sid came in meanwhile.
          if (this.outbox.get(sid) === r) this.outbox.delete(sid);
        }
        this.failing = false;
      } catch (err) {
        ok = false;
        this.failed('share', err);
        if (!this.closed && this.flushTimer === null) {
          this.flushTimer = this.opts.clock.setTimeout(() => {
            this.flushTimer = null;
            this.flush();
          }, this.retryMs);
        }
      } finally {
        this.flushing = false;
      }
      // Shares that came in while the last ones were written.
      if (ok) this.flush();
    })();
  }

  private probe(everyMs: number): void {
    this.probeTimer = this.opts.clock.setTimeout(() => {
      this.probeTimer = null;
      if (this.closed) return;
      this.redis.ping().then(
        () => {
          // A failed share or reload still owed keeps the store unreachable until it goes through.
          if (this.outbox.size === 0 && !this.reloadOwed) this.failing = false;
        },
        () => {
          this.failing = true;
        },
      ).finally(() => {
        if (!this.closed) this.probe(everyMs);
      });
    }, everyMs);
  }

  private failed(op: string, err: unknown): void {
    this.failing = true;
    this.opts.onError?.(failure(this.opts.display, op, err));
  }

  /** EVALSHA, loading the script on NOSCRIPT (a Redis restarted or flushed since the last call). */
  private async run(script: LuaScript, args: string[]): Promise<unknown> {
    const rest = [2, this.hashKey, this.keepKey, ...args];
    try {
      return await this.redis.call('EVALSHA', script.sha, ...rest);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return await this.redis.call('EVAL', script.source, ...rest);
    }
  }
}

/** Opens the store for `--swarm-store redis://…`: its own two connections; rejects if Redis cannot be reached now. */
export async function openRedisRevocationStore(
  url: string,
  opts: Omit<RedisRevocationStoreOptions, 'display'> & { onConnectionError: (err: Error) => void },
): Promise<RedisRevocationStore> {
  const target = parseRedisUrl(url);
  const redis = await connectRedis(target, opts.onConnectionError);
  let sub: Redis;
  try {
    sub = await connectRedis(target, opts.onConnectionError);
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  return new RedisRevocationStore(redis, sub, { ...opts, display: target.display });
}
