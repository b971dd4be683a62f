-- Trackers' own control-link credentials (issue 12): one per tracker id; only
-- sha256(secret) is stored. A revoked credential keeps its row (revoked_at) so
-- the list shows it; adding the id again replaces it with a new secret.
-- seq stands in for SQLite's rowid: the tie-break of "oldest first".
CREATE TABLE tracker_credentials (
  seq         BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
  id          TEXT COLLATE "C" PRIMARY KEY,
  secret_hash TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  revoked_at  BIGINT
);
