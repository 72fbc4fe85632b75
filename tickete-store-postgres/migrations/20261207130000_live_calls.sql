-- Live fetches of the last minute, counted across replicas against the live share of the
-- budget.
CREATE TABLE live_calls (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL
);
