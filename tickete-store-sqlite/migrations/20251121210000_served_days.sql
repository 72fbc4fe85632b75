-- Read path (issue 16): each day keeps what the public routes serve, written by `apply_day` in
-- the same transaction as its slots, so a read is one lookup by (product_id, day) and never a
-- join of slots and pax.
--
-- `served_hash` is the content hash these columns were derived from: a row whose `hash`
-- differs (days synced before this migration, or by an older release during a rolling
-- upgrade) is served from the slots instead, until its next change rewrites it.
ALTER TABLE day_states ADD COLUMN served_hash TEXT;
-- The slots route's body, `{"slots": [...]}` (tickete_core::served::slots_body).
ALTER TABLE day_states ADD COLUMN body TEXT;
ALTER TABLE day_states ADD COLUMN slot_count INTEGER;
-- Lowest primary-pax price among the day's slots with seats left (the dates route); all NULL
-- when no slot has seats. Exact decimals as TEXT, like `pax`.
ALTER TABLE day_states ADD COLUMN open_final_price TEXT;
ALTER TABLE day_states ADD COLUMN open_original_price TEXT;
ALTER TABLE day_states ADD COLUMN open_discount TEXT;
ALTER TABLE day_states ADD COLUMN open_currency_code TEXT;
-- The dates route reads a product's window from this index alone: a covering range scan over a
-- few contiguous pages, where the table's rows of one product lie wherever their days were
-- first synced (one page read per day).
CREATE INDEX day_states_served_dates ON day_states (
    product_id, day, synced_at, hash, served_hash, open_final_price, open_original_price,
    open_discount, open_currency_code);
