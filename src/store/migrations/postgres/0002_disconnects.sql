-- Disconnects (MISSION.md steps A–E): the control server's orders to end a
-- session, kept durable so pending ones resume after a restart, each with a
-- timeline of the chain's steps (jsonb list of {at, event, detail?}).
-- No foreign key to sessions: like sessions, they are history.
-- seq stands in for SQLite's rowid: the tie-break of "newest first" among
-- disconnects created in the same millisecond.
CREATE TABLE disconnects (
  seq          BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
  id           TEXT COLLATE "C" PRIMARY KEY,
  sid          TEXT COLLATE "C" NOT NULL,
  "user"       TEXT COLLATE "C" NOT NULL,
  program      TEXT COLLATE "C" NOT NULL,
  reason       TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('pending', 'completed')),
  outcome      TEXT,
  tracker_id   TEXT,
  attempts     INTEGER NOT NULL DEFAULT 0,
  created_at   BIGINT NOT NULL,
  completed_at BIGINT,
  timeline     JSONB NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(timeline) = 'array')
);
CREATE INDEX disconnects_sid ON disconnects(sid);
CREATE INDEX disconnects_state ON disconnects(state);
CREATE INDEX disconnects_created ON disconnects(created_at);

-- A reconnecting tracker is told which recently ended sessions to keep refusing.
CREATE INDEX sessions_ended_at ON sessions(ended_at);
