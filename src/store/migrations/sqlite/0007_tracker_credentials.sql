-- Trackers' own control-link credentials (issue 12): one per tracker id; only
-- sha256(secret) is stored. A revoked credential keeps its row (revoked_at) so
-- the list shows it; adding the id again replaces it with a new secret.
CREATE TABLE tracker_credentials (
  id          TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  revoked_at  INTEGER
);
