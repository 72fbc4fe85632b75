-- Partner calls spent per minute (whole minutes since the epoch) by every process on the
-- file, for the dashboard's budget chart; two hours are kept.
CREATE TABLE partner_calls (
    minute INTEGER PRIMARY KEY,
    calls  INTEGER NOT NULL
) STRICT;
