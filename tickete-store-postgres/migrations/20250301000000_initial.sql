-- tickete server store schema. Prices are NUMERIC(12,2): exact decimals, never floats.

CREATE TABLE products (
    id      BIGINT  PRIMARY KEY CHECK (id > 0),
    name    TEXT    NOT NULL,
    enabled BOOLEAN NOT NULL
);

-- Sync state of one (product, date). Its row is also the lock that serializes applies of
-- that (product, date).
CREATE TABLE day_states (
    product_id BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    day        DATE   NOT NULL,
    synced_at  TIMESTAMPTZ,
    hash       TEXT,
    last_error TEXT,
    PRIMARY KEY (product_id, day)
);
CREATE INDEX day_states_by_day ON day_states (day);

-- A provider slot id is unique within the (product, date) it was fetched for, so applying
-- one day can never move or rewrite another day's rows.
CREATE TABLE slots (
    id               BIGSERIAL PRIMARY KEY,
    product_id       BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    day              DATE   NOT NULL,
    provider_slot_id TEXT   NOT NULL,
    start_time       TIME   NOT NULL,
    end_time         TIME   NOT NULL,
    remaining        BIGINT NOT NULL CHECK (remaining >= 0),
    currency_code    TEXT   NOT NULL,
    variant_id       BIGINT NOT NULL,
    UNIQUE (product_id, day, provider_slot_id)
);
CREATE INDEX slots_by_day_and_time ON slots (product_id, day, start_time);

-- Pax availability of a slot; `position` keeps the partner's order.
CREATE TABLE pax (
    slot_id        BIGINT        NOT NULL REFERENCES slots (id) ON DELETE CASCADE,
    pax_type       TEXT          NOT NULL,
    position       INTEGER       NOT NULL,
    name           TEXT,
    description    TEXT,
    min_count      BIGINT,
    max_count      BIGINT,
    remaining      BIGINT        NOT NULL CHECK (remaining >= 0),
    is_primary     BOOLEAN       NOT NULL,
    final_price    NUMERIC(12,2) NOT NULL,
    original_price NUMERIC(12,2) NOT NULL,
    discount       NUMERIC(12,2) NOT NULL,
    currency_code  TEXT          NOT NULL,
    PRIMARY KEY (slot_id, pax_type)
);

CREATE TABLE jobs (
    name        TEXT    PRIMARY KEY,
    schedule    TEXT    NOT NULL,
    window_days BIGINT  NOT NULL CHECK (window_days >= 0),
    enabled     BOOLEAN NOT NULL
);

CREATE TABLE runs (
    id            BIGSERIAL   PRIMARY KEY,
    job           TEXT        NOT NULL,
    trigger       TEXT        NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    due_at        TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    status        TEXT        NOT NULL,
    planned       BIGINT      NOT NULL DEFAULT 0,
    fetched       BIGINT      NOT NULL DEFAULT 0,
    changed       BIGINT      NOT NULL DEFAULT 0,
    unchanged     BIGINT      NOT NULL DEFAULT 0,
    skipped_fresh BIGINT      NOT NULL DEFAULT 0,
    failed        BIGINT      NOT NULL DEFAULT 0,
    errors        TEXT[]      NOT NULL DEFAULT '{}'
);
CREATE INDEX runs_by_job ON runs (job, id);
CREATE INDEX runs_by_job_due ON runs (job, due_at);
CREATE INDEX runs_running ON runs (status) WHERE status = 'running';

-- The one-row pause flag, shared by every replica.
CREATE TABLE pause (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    paused    BOOLEAN NOT NULL,
    paused_at TIMESTAMPTZ
);
INSERT INTO pause (id, paused, paused_at) VALUES (1, FALSE, NULL);
