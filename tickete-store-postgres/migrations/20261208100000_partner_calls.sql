-- Partner calls spent per minute (whole minutes since the epoch, database time) by every
-- replica, for the dashboard's budget chart; two hours are kept.
CREATE TABLE partner_calls (
    minute BIGINT  PRIMARY KEY,
    calls  INTEGER NOT NULL
);
