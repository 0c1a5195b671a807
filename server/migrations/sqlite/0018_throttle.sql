-- Failed sign-ins per subject ('user:<id>', 'email:<address>' for an address without an
-- account, 'ip:<address>'), shared by every server on this database. An attempt is counted
-- before its password is checked and the row deleted when it was right; locked_at stays until
-- an administrator or a password reset lifts it. Rows without a lock are pruned once idle.
CREATE TABLE login_failures (
    subject         TEXT PRIMARY KEY,
    failures        BIGINT NOT NULL,
    last_attempt_at BIGINT NOT NULL,
    blocked_until   BIGINT NOT NULL DEFAULT 0,
    locked_at       BIGINT
);
CREATE INDEX login_failures_locked ON login_failures (locked_at, subject) WHERE locked_at IS NOT NULL;
CREATE INDEX login_failures_idle ON login_failures (last_attempt_at) WHERE locked_at IS NULL;

-- Requests per rate-limit key ('ip:<address>', 'user:<id>') in the current one-minute window,
-- when limits are shared across servers. Counts, not history: SQLite servers normally count in
-- memory instead.
CREATE TABLE rate_windows (
    key          TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    hits         BIGINT NOT NULL
);
