-- Change feed (issue 14). `events` is the outbox: `apply_day` inserts a change's event in the
-- transaction of the change. `seq` orders the feed (SQLite has one writer, so the order of
-- sequences is the order of commits); events are pruned after 7 days.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    -- The (product, date) the event concerns; NULL for run events.
    product_id INTEGER,
    day TEXT,
    created_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX events_created_at ON events (created_at);

-- Webhook subscriptions. `events` is a comma-separated list of types ('' = every type);
-- `cursor` is the last event sequence turned into deliveries for this webhook.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    description TEXT,
    enabled INTEGER NOT NULL,
    secret TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    failing_since INTEGER,
    cursor INTEGER NOT NULL
);

-- One event to one webhook. `subject` ('product/day', NULL for run events) is the line in
-- which deliveries are made in event order; `lease_until` is the claim of one attempt.
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_seq INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    subject TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    last_response_status INTEGER,
    last_error TEXT,
    next_attempt_at INTEGER,
    delivered_at INTEGER,
    lease_until INTEGER,
    UNIQUE (webhook_id, event_seq)
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_line ON deliveries (webhook_id, subject, event_seq);
