-- Control data: the customer database (users, subscriptions), the programs,
-- the list of clients in the system (sessions) and small persistent secrets.
-- The PostgreSQL twin of ../sqlite/0001_initial.sql. Keys and names are
-- COLLATE "C" so lists sort byte by byte as SQLite's BINARY collation does,
-- whatever the database's locale; times are epoch ms in BIGINT.

CREATE TABLE users (
  name          TEXT COLLATE "C" PRIMARY KEY,
  password_hash TEXT NOT NULL,
  is_admin      BOOLEAN NOT NULL DEFAULT FALSE,
  created_at    BIGINT NOT NULL
);

CREATE TABLE programs (
  id                 TEXT COLLATE "C" PRIMARY KEY,
  title              TEXT NOT NULL,
  bitrate_bps        BIGINT NOT NULL,
  length_s           DOUBLE PRECISION,
  source_public_key  TEXT NOT NULL,
  source_private_key TEXT NOT NULL,
  packets_per_piece  BIGINT NOT NULL,
  created_at         BIGINT NOT NULL
);

-- A subscription dies with its user or its program.
CREATE TABLE subscriptions (
  "user"     TEXT COLLATE "C" NOT NULL CONSTRAINT subscriptions_user_fkey REFERENCES users(name) ON DELETE CASCADE,
  program    TEXT COLLATE "C" NOT NULL CONSTRAINT subscriptions_program_fkey REFERENCES programs(id) ON DELETE CASCADE,
  until      BIGINT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY ("user", program)
);
CREATE INDEX subscriptions_program ON subscriptions(program);

-- Sessions are history: no foreign keys, so they outlive a removed user or program.
CREATE TABLE sessions (
  id         TEXT COLLATE "C" PRIMARY KEY,
  "user"     TEXT COLLATE "C" NOT NULL,
  program    TEXT COLLATE "C" NOT NULL,
  role       TEXT NOT NULL CHECK (role IN ('viewer', 'source')),
  client_key TEXT NOT NULL,
  state      TEXT NOT NULL CHECK (state IN ('admitted', 'joined', 'ended')),
  ip         TEXT,
  port       INTEGER,
  tracker_id TEXT,
  created_at BIGINT NOT NULL,
  joined_at  BIGINT,
  ended_at   BIGINT,
  end_reason TEXT
);
CREATE INDEX sessions_user ON sessions("user");
CREATE INDEX sessions_program ON sessions(program);
CREATE INDEX sessions_state ON sessions(state);

CREATE TABLE secrets (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
