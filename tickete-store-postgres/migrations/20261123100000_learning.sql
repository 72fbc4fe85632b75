-- What the refresh policy learns (issue 12), kept so a restart does not forget it and every
-- replica shares it.
-- `learnt_pairs`: per (product, date) the recent fetch observations (`interval:changed`, most
-- recent last, at most 12), the last fetch and how many fetches in a row found the day empty.
-- A fetch is recorded under the row's lock (`SELECT … FOR UPDATE`), so replicas never lose
-- each other's observations.
CREATE TABLE learnt_pairs (
    product_id   BIGINT      NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    day          DATE        NOT NULL,
    observations TEXT        NOT NULL,
    last_fetched TIMESTAMPTZ NOT NULL,
    empty_streak BIGINT      NOT NULL CHECK (empty_streak >= 0),
    PRIMARY KEY (product_id, day)
);
CREATE INDEX learnt_pairs_by_fetch ON learnt_pairs (last_fetched);

-- Public reads of every replica per (product, date), decayed (6 h half-life): `scaled` is the
-- weight scaled to the start of week-long `period`, so adding reads is one atomic upsert.
-- At most 100 000 rows.
CREATE TABLE read_counts (
    product_id BIGINT           NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    day        DATE             NOT NULL,
    period     BIGINT           NOT NULL,
    scaled     DOUBLE PRECISION NOT NULL CHECK (scaled >= 0),
    PRIMARY KEY (product_id, day)
);
CREATE INDEX read_counts_by_day ON read_counts (day);
