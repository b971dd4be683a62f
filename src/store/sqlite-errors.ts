/** SQLite constraint failures the store turns into ClientErrors, and the errors that mean a damaged database file. */

function hasCode(err: unknown, codes: readonly string[]): boolean {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' && codes.includes(err.code);
}

export function isUniqueViolation(err: unknown): boolean {
  return hasCode(err, ['SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_CONSTRAINT_UNIQUE']);
}

export function isForeignKeyViolation(err: unknown): boolean {
  return hasCode(err, ['SQLITE_CONSTRAINT_FOREIGNKEY']);
}

/** SQLITE_CORRUPT (and its extended codes: _INDEX, _SEQUENCE, _VTAB) or SQLITE_NOTADB: the file is damaged, not the query. */
export function isCorruption(err: unknown): boolean {
  if (!(err instanceof Error && 'code' in err && typeof err.code === 'string')) return false;
  return err.code === 'SQLITE_NOTADB' || err.code === 'SQLITE_CORRUPT' || err.code.startsWith('SQLITE_CORRUPT_');
}

/** The control database failed its integrity check (PRAGMA quick_check) or is not a database at all. */
export class DatabaseCorruptError extends Error {
  override readonly name = 'DatabaseCorruptError';
  constructor(
    readonly file: string,
    /** What SQLite reported, at most a few lines. */
    readonly problems: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(`the database ${file} is damaged: ${problems.join('; ')}`, options);
  }
}
