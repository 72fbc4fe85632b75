-- The window of a run, so a one-off sync interrupted by a shutdown can be re-planned.
ALTER TABLE runs ADD COLUMN window_days BIGINT NOT NULL DEFAULT 0;

-- Replicas working on the shared queue, with a heartbeat: when the last one stops (or a
-- start finds none alive) the runs no process will finish end `interrupted`.
CREATE TABLE replicas (
    name    TEXT        PRIMARY KEY,
    seen_at TIMESTAMPTZ NOT NULL
);
