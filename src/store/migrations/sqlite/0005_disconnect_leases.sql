-- Several control servers on one database (issue 12 part 4): a pending
-- disconnect is driven only by the instance holding its lease (owner, until
-- lease_until, epoch ms); an expired lease may be taken over. On SQLite there
-- is one instance, but the columns and the store's methods are the same.
ALTER TABLE disconnects ADD COLUMN owner TEXT;
ALTER TABLE disconnects ADD COLUMN lease_until INTEGER;
CREATE INDEX disconnects_pending_tracker ON disconnects(tracker_id) WHERE state = 'pending';

-- The cluster-wide tracker directory: which instance each tracker's control
-- link is on, refreshed (seen_at) while it holds it; stale rows are ignored.
CREATE TABLE tracker_presence (
  tracker_id   TEXT PRIMARY KEY,
  instance     TEXT NOT NULL,
  announce_url TEXT NOT NULL,
  ws_url       TEXT NOT NULL,
  connected_at INTEGER NOT NULL,
  seen_at      INTEGER NOT NULL
);
