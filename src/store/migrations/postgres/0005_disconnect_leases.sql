-- Several control servers on one database (issue 12 part 4): a pending
-- disconnect is driven only by the instance holding its lease (owner, until
-- lease_until, epoch ms), claimed with FOR UPDATE SKIP LOCKED so two
-- instances never both take one; an expired lease may be taken over.
ALTER TABLE disconnects ADD COLUMN owner TEXT COLLATE "C";
ALTER TABLE disconnects ADD COLUMN lease_until BIGINT;
CREATE INDEX disconnects_pending_tracker ON disconnects(tracker_id) WHERE state = 'pending';

-- The cluster-wide tracker directory: which instance each tracker's control
-- link is on, refreshed (seen_at) while it holds it; stale rows are ignored.
CREATE TABLE tracker_presence (
  tracker_id   TEXT COLLATE "C" PRIMARY KEY,
  instance     TEXT COLLATE "C" NOT NULL,
  announce_url TEXT NOT NULL,
  ws_url       TEXT NOT NULL,
  connected_at BIGINT NOT NULL,
  seen_at      BIGINT NOT NULL
);
