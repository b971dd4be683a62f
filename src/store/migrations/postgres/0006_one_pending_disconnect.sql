-- At most one pending disconnect per session: two control servers kicking
-- one session at once (an operator on each, or both instances' subscription
-- checks) record one disconnect; the second insert is refused (conflict) and
-- the orchestrator returns the first.
CREATE UNIQUE INDEX disconnects_one_pending ON disconnects(sid) WHERE state = 'pending';
