-- Sessions, refresh-token hashes and devices. Times are Unix milliseconds.
CREATE TABLE sessions (
    id              TEXT    PRIMARY KEY NOT NULL,
    user_id         TEXT    NOT NULL,
    device_id       TEXT,
    device_name     TEXT,
    ip              TEXT,
    user_agent      TEXT,
    roles           TEXT    NOT NULL, -- JSON array of strings
    amr             TEXT    NOT NULL, -- JSON array of strings
    device_bound    BOOLEAN NOT NULL,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER NOT NULL,
    idle_expires_at INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    revoked_at      INTEGER,
    revoke_reason   TEXT
);
CREATE INDEX sessions_user_idx ON sessions (user_id, created_at);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
CREATE INDEX sessions_idle_expires_idx ON sessions (idle_expires_at);

-- Only SHA-256 hashes of refresh tokens are stored, never the tokens.
CREATE TABLE refresh_tokens (
    hash             BLOB    PRIMARY KEY NOT NULL,
    session_id       TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    generation       INTEGER NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('active', 'rotated')),
    issued_at        INTEGER NOT NULL,
    rotated_at       INTEGER,
    successor_hash   BLOB,
    successor_sealed BLOB
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);
-- Belt and braces for the rotation race: a session never has two active tokens.
CREATE UNIQUE INDEX refresh_tokens_one_active_idx ON refresh_tokens (session_id) WHERE state = 'active';

CREATE TABLE devices (
    user_id       TEXT    NOT NULL,
    device_id     TEXT    NOT NULL,
    name          TEXT,
    first_seen    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL,
    trusted_until INTEGER,
    PRIMARY KEY (user_id, device_id)
);
