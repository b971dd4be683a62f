/**
 * PostgreSQL failures the store turns into ClientErrors (the same ones the
 * SQLite store raises, see sqlite-errors.ts), the ones that mean damaged data,
 * and the refusal to start when the database cannot be reached.
 * Codes: https://www.postgresql.org/docs/current/errcodes-appendix.html
 */

function sqlState(err: unknown): string | undefined {
  if (!(err instanceof Error && 'code' in err && typeof err.code === 'string')) return undefined;
  // Five characters: SQLSTATE. Node's socket errors (ECONNREFUSED, …) are longer.
  return err.code.length === 5 ? err.code : undefined;
}

/** unique_violation (a primary key or UNIQUE constraint). */
export function isPgUniqueViolation(err: unknown): boolean {
  return sqlState(err) === '23505';
}

/** foreign_key_violation; with `constraint`, only of that named constraint (as the migrations name them). */
export function isPgForeignKeyViolation(err: unknown, constraint?: string): boolean {
  if (sqlState(err) !== '23503') return false;
  return constraint === undefined || (err instanceof Error && 'constraint' in err && err.constraint === constraint);
}

/**
 * data_corrupted (XX001) or index_corrupted (XX002): PostgreSQL found damaged
 * pages. The counterpart of SQLITE_CORRUPT for the control server's health
 * (database_corrupt); a lost connection is not damage.
 */
export function isPgCorruption(err: unknown): boolean {
  const state = sqlState(err);
  return state === 'XX001' || state === 'XX002';
}

/**
 * The server refused us as configured (bad password or role, no such
 * database): the URL or the server's access rules must change, waiting will
 * not help. Class 28 (invalid authorization) and 3D000 (invalid_catalog_name).
 */
export function isPgRefusal(err: unknown): boolean {
  const state = sqlState(err);
  return state !== undefined && (state.startsWith('28') || state === '3D000');
}

/** The URL as it may be shown: its password (if it held one) removed. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password === '') return url;
    u.password = '';
    return u.toString();
  } catch {
    // Not parseable as a URL: show nothing that could be a secret.
    return '(an unparseable database URL)';
  }
}

/** An error's message, or its code when it has none (a refused "localhost" is an AggregateError with an empty message). */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.message !== '') return err.message;
  return 'code' in err && typeof err.code === 'string' ? err.code : err.name;
}

/** The control database could not be used at start: unreachable, or it refused the connection. */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';
  constructor(
    /** The URL without its password. */
    readonly url: string,
    /** True when the server answered and refused (fix the URL or the server's access rules); false when unreachable. */
    readonly refused: boolean,
    options?: { cause?: unknown },
  ) {
    super(`cannot ${refused ? 'use' : 'reach'} the PostgreSQL database ${url}: ${describe(options?.cause)}`, options);
  }
}
