/** SQLite constraint failures the store turns into ClientErrors. */

function hasCode(err: unknown, codes: readonly string[]): boolean {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' && codes.includes(err.code);
}

export function isUniqueViolation(err: unknown): boolean {
  return hasCode(err, ['SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_CONSTRAINT_UNIQUE']);
}

export function isForeignKeyViolation(err: unknown): boolean {
  return hasCode(err, ['SQLITE_CONSTRAINT_FOREIGNKEY']);
}
