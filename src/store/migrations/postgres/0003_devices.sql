-- Device credentials (`gatecast login`): a revocable credential per device,
-- used instead of the password. Only sha256(secret) is stored; revoking a
-- device deletes its row, and a removed user's devices go with it.
-- seq stands in for SQLite's rowid: the tie-break of "oldest first".
CREATE TABLE devices (
  seq         BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
  id          TEXT COLLATE "C" PRIMARY KEY,
  "user"      TEXT COLLATE "C" NOT NULL CONSTRAINT devices_user_fkey REFERENCES users(name) ON DELETE CASCADE,
  secret_hash TEXT NOT NULL,
  label       TEXT NOT NULL DEFAULT '',
  created_at  BIGINT NOT NULL,
  expires_at  BIGINT NOT NULL
);
CREATE INDEX devices_user ON devices("user");
