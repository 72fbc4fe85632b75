-- Issue 16: a slots read is one b-tree descent. `day_states` had an implicit rowid and its
-- (product_id, day) key in a separate index, so a read descended the index, then the table by
-- rowid: two leaf pages, of which the connection's 1 MiB page cache holds few once 60,000 days
-- are stored. Now the rowid is the key itself, `product_id * 2^20 + days since 1970-01-01`
-- (dates up to the year 4840), so the read is a rowid lookup. The CHECK keeps every writer
-- to that rule; (product_id, day) stays UNIQUE for the upserts and the other reads.
CREATE TABLE day_states_keyed (
    id                  INTEGER PRIMARY KEY,
    product_id          INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    day                 TEXT    NOT NULL,
    synced_at           INTEGER,
    hash                TEXT,
    last_error          TEXT,
    served_hash         TEXT,
    body                TEXT,
    slot_count          INTEGER,
    open_final_price    TEXT,
    open_original_price TEXT,
    open_discount       TEXT,
    open_currency_code  TEXT,
    UNIQUE (product_id, day),
    CHECK (id = product_id * 1048576 + CAST(julianday(day) - 2440587.5 AS INTEGER))
) STRICT;

INSERT INTO day_states_keyed (id, product_id, day, synced_at, hash, last_error, served_hash,
                              body, slot_count, open_final_price, open_original_price,
                              open_discount, open_currency_code)
SELECT product_id * 1048576 + CAST(julianday(day) - 2440587.5 AS INTEGER), product_id, day,
       synced_at, hash, last_error, served_hash, body, slot_count, open_final_price,
       open_original_price, open_discount, open_currency_code
FROM day_states
ORDER BY product_id, day;

DROP TABLE day_states;
ALTER TABLE day_states_keyed RENAME TO day_states;

CREATE INDEX day_states_served_dates ON day_states (
    product_id, day, synced_at, hash, served_hash, open_final_price, open_original_price,
    open_discount, open_currency_code);
CREATE INDEX day_states_sync_by_day ON day_states (day, product_id, synced_at, hash, last_error);
