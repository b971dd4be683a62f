/**
 * `gatecast control --db`: a SQLite file (the embedded default) or a
 * PostgreSQL URL (postgres:// or postgresql://), opened and checked before the
 * control server uses it, with what health needs to know about that database.
 */
import type { CorruptionTest } from '../control/health.js';
import type { Clock } from '../core/clock.js';
import type { ControlStore, DisconnectNotices } from '../core/ports.js';
import { PgDisconnectNotices, type PgDisconnectNoticesOptions } from '../store/pg-disconnect-notices.js';
import { PgControlStore } from '../store/pg-control-store.js';
import { isPgCorruption, redactUrl } from '../store/pg-errors.js';
import { SqliteControlStore } from '../store/sqlite-control-store.js';
import { isCorruption } from '../store/sqlite-errors.js';

export const DB_FLAG_HELP =
  "control database: a SQLite file (':memory:' for a throwaway one), or postgres://USER@HOST[:PORT]/DB " +
  '(also postgresql://; password from PGPASSWORD or ~/.pgpass rather than the URL)';

export interface OpenedControlStore {
  store: ControlStore;
  /** The database as messages name it (a URL without its password). */
  label: string;
  kind: 'sqlite' | 'postgres';
  /** Tells a store error that means damaged data: health's database_corrupt. */
  isCorrupt: CorruptionTest;
  /** A round trip health makes on every report, so an unreachable server shows as database_error (PostgreSQL only). */
  probe?: () => Promise<void>;
  /**
   * PostgreSQL only: several control servers may share it, each hearing of the disconnects the others record
   * (LISTEN on a connection of its own). Absent (SQLite): one control server drives everything.
   */
  notices?: (clock: Clock, log: PgDisconnectNoticesOptions['log']) => DisconnectNotices;
}

export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/**
 * Opens `db`. Throws what the store's check found: DatabaseCorruptError (a
 * damaged SQLite file), DatabaseUnavailableError (PostgreSQL unreachable or
 * refusing us), or the SQLite driver's own error (a file it cannot open).
 */
export async function openControlStore(db: string): Promise<OpenedControlStore> {
  if (isPostgresUrl(db)) {
    const store = await PgControlStore.open(db);
    return {
      store,
      label: redactUrl(db),
      kind: 'postgres',
      isCorrupt: isPgCorruption,
      probe: () => store.ping(),
      notices: (clock, log) => new PgDisconnectNotices({ url: db, channel: store.noticeChannel, clock, log }),
    };
  }
  return { store: SqliteControlStore.open(db), label: db, kind: 'sqlite', isCorrupt: isCorruption };
}
