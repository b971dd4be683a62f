-- Concurrent-session limit: per user, and per subscription (which overrides
-- the user's for sessions of that program). NULL: no limit of its own.
ALTER TABLE users ADD COLUMN max_sessions INTEGER;
ALTER TABLE subscriptions ADD COLUMN max_sessions INTEGER;
