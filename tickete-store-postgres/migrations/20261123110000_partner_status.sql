-- Whether the partner knows a product (issue 12, SPEC §2 `partnerStatus`): the engine sets
-- 'unknown' on a 404 and 'ok' again on the first day it answers.
ALTER TABLE products ADD COLUMN partner_status TEXT NOT NULL DEFAULT 'ok'
    CHECK (partner_status IN ('ok', 'unknown'));
