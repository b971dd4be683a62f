-- Disconnects (MISSION.md steps A–E): the control server's orders to end a
-- session, kept durable so pending ones resume after a restart, each with a
-- timeline of the chain's steps (JSON list of {at, event, detail?}).
-- No foreign key to sessions: like sessions, they are history.
CREATE TABLE disconnects (
  id           TEXT PRIMARY KEY,
  sid          TEXT NOT NULL,
  user         TEXT NOT NULL,
  program      TEXT NOT NULL,
  reason       TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('pending', 'completed')),
  outcome      TEXT,
  tracker_id   TEXT,
  attempts     INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL,
  completed_at INTEGER,
  timeline     TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX disconnects_sid ON disconnects(sid);
CREATE INDEX disconnects_state ON disconnects(state);
CREATE INDEX disconnects_created ON disconnects(created_at);

-- A reconnecting tracker is told which recently ended sessions to keep refusing.
CREATE INDEX sessions_ended_at ON sessions(ended_at);
