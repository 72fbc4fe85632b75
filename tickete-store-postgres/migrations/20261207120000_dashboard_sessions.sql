-- Dashboard sessions, so signing out ends a session at once on every replica. The id is a
-- digest of the session's nonce, never the cookie.
CREATE TABLE dashboard_sessions (
    id         TEXT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
