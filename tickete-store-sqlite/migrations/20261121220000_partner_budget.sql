-- One partner budget per deployment: the server and the CLI on the same file pace their
-- calls through this row (GCRA with burst 1; instants are microseconds since the epoch).
CREATE TABLE partner_budget (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    next_at    INTEGER NOT NULL,
    held_until INTEGER
) STRICT;
INSERT INTO partner_budget (id, next_at, held_until) VALUES (1, 0, NULL);
