-- Read path (issue 16): each day keeps what the public routes serve, written by `apply_day` in
-- the same transaction as its slots, so a read is one lookup by (product_id, day) and never a
-- join of slots and pax.
--
-- `served_hash` is the content hash these columns were derived from: a row whose `hash`
-- differs (days synced before this migration, or by an older replica during a rolling
-- upgrade) is served from the slots instead, until its next change rewrites it.
ALTER TABLE day_states
    ADD COLUMN served_hash TEXT,
    -- The slots route's body, `{"slots": [...]}` (tickete_core::served::slots_body).
    ADD COLUMN body TEXT,
    ADD COLUMN slot_count INTEGER,
    -- Lowest primary-pax price among the day's slots with seats left (the dates route); all
    -- NULL when no slot has seats.
    ADD COLUMN open_final_price NUMERIC(12,2),
    ADD COLUMN open_original_price NUMERIC(12,2),
    ADD COLUMN open_discount NUMERIC(12,2),
    ADD COLUMN open_currency_code TEXT;
