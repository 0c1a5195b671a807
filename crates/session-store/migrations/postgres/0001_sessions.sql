-- Sessions, refresh-token hashes and devices. Times are Unix milliseconds (BIGINT).
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
    created_at      BIGINT  NOT NULL,
    last_used_at    BIGINT  NOT NULL,
    idle_expires_at BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL,
    revoked_at      BIGINT,
    revoke_reason   TEXT
);
CREATE INDEX sessions_user_idx ON sessions (user_id, created_at);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
CREATE INDEX sessions_idle_expires_idx ON sessions (idle_expires_at);

-- Only SHA-256 hashes of refresh tokens are stored, never the tokens.
CREATE TABLE refresh_tokens (
    hash             BYTEA   PRIMARY KEY NOT NULL,
    session_id       TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    generation       BIGINT  NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('active', 'rotated')),
    issued_at        BIGINT  NOT NULL,
    rotated_at       BIGINT,
    successor_hash   BYTEA,
    successor_sealed BYTEA
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);
-- Belt and braces for the rotation race: a session never has two active tokens.
CREATE UNIQUE INDEX refresh_tokens_one_active_idx ON refresh_tokens (session_id) WHERE state = 'active';

CREATE TABLE devices (
    user_id       TEXT    NOT NULL,
    device_id     TEXT    NOT NULL,
    name          TEXT,
    first_seen    BIGINT  NOT NULL,
    last_seen     BIGINT  NOT NULL,
    trusted_until BIGINT,
    PRIMARY KEY (user_id, device_id)
);
