-- Runs have owners and a scope: the process that runs them (only runs whose owner is gone are
-- rescued), the products they cover (NULL: every enabled product), their class, and their
-- re-plan state. Engine processes keep a heartbeat here.
ALTER TABLE runs ADD COLUMN products TEXT;
ALTER TABLE runs ADD COLUMN manual BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE runs ADD COLUMN owner_process TEXT;
ALTER TABLE runs ADD COLUMN owner_kind TEXT;
ALTER TABLE runs ADD COLUMN owner_host TEXT;
ALTER TABLE runs ADD COLUMN owner_pid BIGINT;
ALTER TABLE runs ADD COLUMN replans BIGINT;
ALTER TABLE runs ADD COLUMN replan_pending BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE runs ADD COLUMN skipped_ticks BIGINT NOT NULL DEFAULT 0;

-- The latest interrupted run of each job was re-planned at the next start before owners were
-- kept: it still is.
UPDATE runs SET replan_pending = TRUE, manual = (job = 'manual-sync')
 WHERE status = 'interrupted' AND id IN (SELECT MAX(id) FROM runs GROUP BY job);

CREATE INDEX runs_replan_pending ON runs (id) WHERE replan_pending;

CREATE TABLE processes (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    host         TEXT NOT NULL,
    pid          BIGINT NOT NULL,
    started_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL
);

-- Manual work is claimed before scheduled work.
ALTER TABLE sync_tasks ADD COLUMN manual BOOLEAN NOT NULL DEFAULT FALSE;
