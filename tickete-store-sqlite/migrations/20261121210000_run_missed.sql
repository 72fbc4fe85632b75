-- Pairs a run could not reach before it ended (superseded by a newer tick of its job, dates
-- passed at midnight, product deleted or disabled, or the run was interrupted).
ALTER TABLE runs ADD COLUMN missed INTEGER NOT NULL DEFAULT 0;
