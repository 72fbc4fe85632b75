-- Coordination of several replicas on one database (SPEC §5).

-- Each cron tick (job, due time) is claimed by exactly one replica.
CREATE TABLE tick_claims (
    job        TEXT        NOT NULL,
    due_at     TIMESTAMPTZ NOT NULL,
    claimed_by TEXT        NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (job, due_at)
);

-- The partner budget of the whole cluster: GCRA's next allowed call time, and the hold a
-- partner 429 imposes on every replica.
CREATE TABLE partner_budget (
    id         INTEGER     PRIMARY KEY CHECK (id = 1),
    next_at    TIMESTAMPTZ NOT NULL,
    held_until TIMESTAMPTZ
);
INSERT INTO partner_budget (id, next_at, held_until) VALUES (1, now(), NULL);

-- The durable task queue: one row per (product, date), ordered by date, then older data
-- (never synced first). A claimed task carries a lease; an expired lease makes it claimable
-- again, so a replica killed mid-task loses nothing.
CREATE TABLE sync_tasks (
    product_id  BIGINT      NOT NULL,
    day         DATE        NOT NULL,
    synced_at   TIMESTAMPTZ,
    attempts    INTEGER     NOT NULL DEFAULT 0,
    not_before  TIMESTAMPTZ,
    lease_owner TEXT,
    lease_until TIMESTAMPTZ,
    last_error  TEXT,
    PRIMARY KEY (product_id, day)
);
CREATE INDEX sync_tasks_by_priority ON sync_tasks (day, synced_at NULLS FIRST, product_id);

-- Runs waiting on each task: a task queued by several runs is fetched once, counted for all.
CREATE TABLE sync_task_runs (
    product_id BIGINT NOT NULL,
    day        DATE   NOT NULL,
    run_id     BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    PRIMARY KEY (product_id, day, run_id),
    FOREIGN KEY (product_id, day) REFERENCES sync_tasks (product_id, day) ON DELETE CASCADE
);

-- Tasks a run still waits on; the replica that settles the last one finishes the run.
ALTER TABLE runs ADD COLUMN outstanding BIGINT NOT NULL DEFAULT 0;
