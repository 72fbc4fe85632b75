-- Issue 16: the sync state of a window of days (planning, the freshness report, `/metrics`,
-- the dashboard's heatmap) is read from this index alone. The table's rows also hold the
-- served bodies (a few KiB each), so reaching every row of a window through the old
-- `day_states_by_day` read about one table page per day; this index holds the narrow columns
-- in day order, a few hundred entries a page. It also serves what the old one did (prune,
-- windows from today).
CREATE INDEX day_states_sync_by_day ON day_states (day, product_id, synced_at, hash, last_error);
DROP INDEX day_states_by_day;
