-- What the refresh policy learns (issue 12), kept so a restart does not forget it.
-- `learnt_pairs`: per (product, date) the recent fetch observations (`interval:changed`, most
-- recent last, at most 12), the last fetch and how many fetches in a row found the day empty.
CREATE TABLE learnt_pairs (
    product_id   INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    day          TEXT    NOT NULL,
    observations TEXT    NOT NULL,
    last_fetched INTEGER NOT NULL,
    empty_streak INTEGER NOT NULL CHECK (empty_streak >= 0),
    PRIMARY KEY (product_id, day)
) STRICT;
CREATE INDEX learnt_pairs_by_fetch ON learnt_pairs (last_fetched);

-- Public reads per (product, date), decayed (6 h half-life): `scaled` is the weight scaled to
-- the start of week-long `period`, so adding reads is an addition. At most 100 000 rows.
CREATE TABLE read_counts (
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    day        TEXT    NOT NULL,
    period     INTEGER NOT NULL,
    scaled     REAL    NOT NULL CHECK (scaled >= 0),
    PRIMARY KEY (product_id, day)
) STRICT;
CREATE INDEX read_counts_by_day ON read_counts (day);
