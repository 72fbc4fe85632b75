-- The window of a run, so a one-off sync interrupted by a shutdown can be re-planned.
ALTER TABLE runs ADD COLUMN window_days INTEGER NOT NULL DEFAULT 0;
