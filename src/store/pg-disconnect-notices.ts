/**
 * DisconnectNotices on PostgreSQL LISTEN/NOTIFY (docs/ARCHITECTURE.md, "Several
 * control servers"). The notice is sent by the store's insert of a pending
 * disconnect, in its transaction (pg-disconnect-rows.ts insertDisconnect), so
 * publish() has nothing left to do. Each control server listens on a dedicated
 * connection (a pooled one may be handed to a query and LISTEN is per
 * connection); when it is lost, it is reopened with backoff on the injected
 * clock, LISTENs again, and subscribers are told of the gap so they sweep for
 * what they may have missed.
 */
import pg from 'pg';
import type { Clock, TimerHandle } from '../core/clock.js';
import { DEFAULTS } from '../core/config.js';
import type { DisconnectNotices } from '../core/ports.js';

const CHANNEL_BASE = 'gatecast_disconnects';
/** PostgreSQL's identifier length (NAMEDATALEN - 1): a longer channel name is refused by pg_notify. */
const CHANNEL_MAX = 63;

/** The channel of one schema's notices: NOTIFY reaches every session of the database, whatever its search_path. */
export function disconnectNoticeChannel(schema: string | undefined): string {
  return (schema === undefined ? CHANNEL_BASE : `${CHANNEL_BASE}_${schema}`).slice(0, CHANNEL_MAX);
}

export interface PgDisconnectNoticesOptions {
  url: string;
  channel: string;
  clock: Clock;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** application_name of the listening connection. */
  applicationName?: string;
}

export class PgDisconnectNotices implements DisconnectNotices {
  private client: pg.Client | null = null;
  private readonly listeners: Array<{ onNotice: (id: string) => void; onGap?: () => void }> = [];
  private running = false;
  private retry: TimerHandle | null = null;
  private backoffMs: number = DEFAULTS.clusterNoticeReconnectMinMs;
  private hadConnection = false;

  constructor(private readonly opts: PgDisconnectNoticesOptions) {}

  /** Already done by the insert (NOTIFY in its transaction). */
  async publish(_id: string): Promise<void> {}

  subscribe(onNotice: (id: string) => void, onGap?: () => void): void {
    this.listeners.push({ onNotice, onGap });
  }

  /** Opens the listening connection; while it cannot (now or after a loss), it is retried with backoff for ever. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.connect();
    } catch (err) {
      // The database is not reachable now: the claim sweep drives everything until listening works.
      this.opts.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'disconnect notices: cannot listen yet; retrying');
      this.schedule();
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.retry?.cancel();
    this.retry = null;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  /** True while the listening connection is up. */
  get listening(): boolean {
    return this.client !== null;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.opts.url, application_name: this.opts.applicationName ?? 'gatecast-control-notices' });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, null));
    client.on('notification', (n) => {
      if (n.channel !== this.opts.channel || !n.payload) return;
      for (const l of this.listeners) l.onNotice(n.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(this.opts.channel)}`);
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw err;
    }
    if (!this.running) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.backoffMs = DEFAULTS.clusterNoticeReconnectMinMs;
    if (this.hadConnection) this.opts.log.info({ channel: this.opts.channel }, 'disconnect notices: listening again');
    this.hadConnection = true;
    // Notices sent before this connection listened are not replayed: subscribers look for what they missed.
    for (const l of this.listeners) l.onGap?.();
  }

  private lost(client: pg.Client, err: Error | null): void {
    if (this.client !== client) return;
    this.client = null;
    client.end().catch(() => undefined);
    if (!this.running) return;
    this.opts.log.warn({ err: err?.message, channel: this.opts.channel }, 'disconnect notices: listening connection lost; reconnecting');
    this.schedule();
  }

  private schedule(): void {
    if (!this.running || this.retry) return;
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, DEFAULTS.clusterNoticeReconnectMaxMs);
    this.retry = this.opts.clock.setTimeout(() => {
      this.retry = null;
      this.connect().catch((err: unknown) => {
        this.opts.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'disconnect notices: reconnecting failed; retrying');
        this.schedule();
      });
    }, wait);
  }
}
