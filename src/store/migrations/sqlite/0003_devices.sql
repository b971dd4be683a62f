-- Device credentials (`gatecast login`): a revocable credential per device,
-- used instead of the password. Only sha256(secret) is stored; revoking a
-- device deletes its row, and a removed user's devices go with it.
CREATE TABLE devices (
  id          TEXT PRIMARY KEY,
  user        TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
  secret_hash TEXT NOT NULL,
  label       TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL
);
CREATE INDEX devices_user ON devices(user);
