/**
 * The connection pool of the PostgreSQL control store: BIGINT read back as a
 * JavaScript number (epoch ms, never past 2^53) instead of pg's default
 * string, an optional schema on every connection, and a pool that survives a
 * server that goes away (its idle connections' errors are absorbed, the next
 * call opens a new one or fails).
 */
import pg from 'pg';
import { DEFAULTS } from '../core/config.js';
import { InternalError } from '../core/errors.js';

const INT8_OID = 20;

/** int8 → number, refusing (rather than rounding) a value a double cannot hold exactly. */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new InternalError(`a BIGINT column holds ${text}, beyond what a JavaScript number keeps exactly`);
  return n;
}

/** pg's parsers, BIGINT excepted; per pool, so nothing else in the process sees the change. */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** A schema name we put in a startup option: letters, digits and underscores only, so it needs no quoting. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface PgPoolOptions {
  /** Schema every connection works in (search_path), e.g. one per test run; absent: the server's default. */
  schema?: string;
  /** application_name the server shows for these connections (pg_stat_activity); default gatecast-control. */
  applicationName?: string;
  /** Called with errors of idle connections (the server restarted or dropped them); they are otherwise ignored. */
  onIdleError?: (err: Error) => void;
}

export function createPgPool(url: string, opts: PgPoolOptions = {}): pg.Pool {
  if (opts.schema !== undefined && !SCHEMA_NAME.test(opts.schema)) {
    throw new InternalError(`bad schema name ${JSON.stringify(opts.schema)}: lower-case letters, digits and _ only`);
  }
  const pool = new pg.Pool({
    connectionString: url,
    types: TYPES,
    max: DEFAULTS.controlDbPoolMax,
    connectionTimeoutMillis: DEFAULTS.controlDbConnectTimeoutMs,
    idleTimeoutMillis: DEFAULTS.controlDbIdleTimeoutMs,
    application_name: opts.applicationName ?? 'gatecast-control',
    // A startup option, so it holds on every connection the pool ever opens, reconnections included.
    ...(opts.schema !== undefined ? { options: `-c search_path=${opts.schema}` } : {}),
  });
  // Without a listener an idle connection's error (server restart, admin kill) is thrown out of the
  // event loop and ends the process; the pool has already dropped that connection.
  pool.on('error', (err) => opts.onIdleError?.(err));
  return pool;
}

/** A pool, or one connection taken from it (inside a transaction). */
export type Queryable = pg.Pool | pg.PoolClient;

export async function selectRows<T extends pg.QueryResultRow>(db: Queryable, sql: string, params: unknown[] = []): Promise<T[]> {
  return (await db.query<T>(sql, params)).rows;
}

/** Runs a write; returns how many rows it touched. */
export async function execute(db: Queryable, sql: string, params: unknown[] = []): Promise<number> {
  return (await db.query(sql, params)).rowCount ?? 0;
}
