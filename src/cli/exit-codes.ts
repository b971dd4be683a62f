/** Process exit codes, documented in docs/OPERATIONS.md. */
export const EXIT = {
  ok: 0,
  /** Something failed that is not the user's doing (network, crash of a child process). */
  error: 1,
  /** Bad flags or configuration. */
  usage: 2,
  /** The control server or the tracker refused admission (credentials, subscription, program). */
  refused: 3,
  /** The operator ended this session (disconnect, steps A–E). */
  kicked: 4,
  /** The session ended without a kick: token renewal refused, subscription lapsed. */
  sessionEnded: 5,
  /** This device's login (gatecast login) was revoked or has expired: log in again. */
  loginRequired: 6,
  /** `control`: the database file failed its integrity check at start (or is not a database): restore it from a backup. */
  databaseCorrupt: 7,
} as const;
