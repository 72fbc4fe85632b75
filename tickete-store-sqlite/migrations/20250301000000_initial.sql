-- tickete embedded store schema. Money is TEXT holding the exact decimal as the partner sent
-- it (never REAL); instants are INTEGER microseconds since the Unix epoch (UTC); dates are
-- TEXT `YYYY-MM-DD` and times TEXT `HH:MM:SS[.f]`, both of which sort correctly as text.

CREATE TABLE products (
    id      INTEGER PRIMARY KEY CHECK (id > 0),
    name    TEXT    NOT NULL,
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1))
) STRICT;

-- Sync state of one (product, date): last success, content hash, last error.
CREATE TABLE day_states (
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    day        TEXT    NOT NULL,
    synced_at  INTEGER,
    hash       TEXT,
    last_error TEXT,
    PRIMARY KEY (product_id, day)
) STRICT;
CREATE INDEX day_states_by_day ON day_states (day);

-- A provider slot id is unique within the (product, date) it was fetched for, so applying
-- one day can never move or rewrite another day's rows.
CREATE TABLE slots (
    id               INTEGER PRIMARY KEY,
    product_id       INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    day              TEXT    NOT NULL,
    provider_slot_id TEXT    NOT NULL,
    start_time       TEXT    NOT NULL,
    end_time         TEXT    NOT NULL,
    remaining        INTEGER NOT NULL CHECK (remaining >= 0),
    currency_code    TEXT    NOT NULL,
    variant_id       INTEGER NOT NULL,
    UNIQUE (product_id, day, provider_slot_id)
) STRICT;
CREATE INDEX slots_by_day_and_time ON slots (product_id, day, start_time);

-- Pax availability of a slot; `position` keeps the partner's order.
CREATE TABLE pax (
    slot_id        INTEGER NOT NULL REFERENCES slots (id) ON DELETE CASCADE,
    pax_type       TEXT    NOT NULL,
    position       INTEGER NOT NULL,
    name           TEXT,
    description    TEXT,
    min_count      INTEGER,
    max_count      INTEGER,
    remaining      INTEGER NOT NULL CHECK (remaining >= 0),
    is_primary     INTEGER NOT NULL CHECK (is_primary IN (0, 1)),
    final_price    TEXT    NOT NULL,
    original_price TEXT    NOT NULL,
    discount       TEXT    NOT NULL,
    currency_code  TEXT    NOT NULL,
    PRIMARY KEY (slot_id, pax_type)
) STRICT;

CREATE TABLE jobs (
    name        TEXT    PRIMARY KEY,
    schedule    TEXT    NOT NULL,
    window_days INTEGER NOT NULL CHECK (window_days >= 0),
    enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1))
) STRICT;

-- Execution log; `errors` is a JSON array of strings.
CREATE TABLE runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    job           TEXT    NOT NULL,
    trigger       TEXT    NOT NULL,
    started_at    INTEGER NOT NULL,
    due_at        INTEGER NOT NULL,
    finished_at   INTEGER,
    status        TEXT    NOT NULL,
    planned       INTEGER NOT NULL DEFAULT 0,
    fetched       INTEGER NOT NULL DEFAULT 0,
    changed       INTEGER NOT NULL DEFAULT 0,
    unchanged     INTEGER NOT NULL DEFAULT 0,
    skipped_fresh INTEGER NOT NULL DEFAULT 0,
    failed        INTEGER NOT NULL DEFAULT 0,
    errors        TEXT    NOT NULL DEFAULT '[]'
) STRICT;
CREATE INDEX runs_by_job ON runs (job, id);
CREATE INDEX runs_by_job_due ON runs (job, due_at);
CREATE INDEX runs_by_status ON runs (status);

-- The one-row pause flag.
CREATE TABLE pause (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    paused    INTEGER NOT NULL CHECK (paused IN (0, 1)),
    paused_at INTEGER
) STRICT;
INSERT INTO pause (id, paused, paused_at) VALUES (1, 0, NULL);
