-- Control data: the customer database (users, subscriptions), the programs,
-- the list of clients in the system (sessions) and small persistent secrets.

CREATE TABLE users (
  name          TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  is_admin      INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL
);

CREATE TABLE programs (
  id                 TEXT PRIMARY KEY,
  title              TEXT NOT NULL,
  bitrate_bps        INTEGER NOT NULL,
  length_s           REAL,
  source_public_key  TEXT NOT NULL,
  source_private_key TEXT NOT NULL,
  packets_per_piece  INTEGER NOT NULL,
  created_at         INTEGER NOT NULL
);

-- A subscription dies with its user or its program.
CREATE TABLE subscriptions (
  user       TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
  program    TEXT NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
  until      INTEGER,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user, program)
);
CREATE INDEX subscriptions_program ON subscriptions(program);

-- Sessions are history: no foreign keys, so they outlive a removed user or program.
CREATE TABLE sessions (
  id         TEXT PRIMARY KEY,
  user       TEXT NOT NULL,
  program    TEXT NOT NULL,
  role       TEXT NOT NULL CHECK (role IN ('viewer', 'source')),
  client_key TEXT NOT NULL,
  state      TEXT NOT NULL CHECK (state IN ('admitted', 'joined', 'ended')),
  ip         TEXT,
  port       INTEGER,
  tracker_id TEXT,
  created_at INTEGER NOT NULL,
  joined_at  INTEGER,
  ended_at   INTEGER,
  end_reason TEXT
);
CREATE INDEX sessions_state ON sessions(state);
CREATE INDEX sessions_user ON sessions(user);
CREATE INDEX sessions_program ON sessions(program);

CREATE TABLE secrets (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
