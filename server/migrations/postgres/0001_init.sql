-- Strongroom server metadata. Times are microseconds since the Unix epoch (UTC).

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    is_admin      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- folder_id '' is the owner's root, so (owner, folder, name) uniqueness holds at the root too.
CREATE TABLE folders (
    id         TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    parent_id  TEXT NOT NULL DEFAULT '',
    name       TEXT NOT NULL,
    is_public  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX folders_unique_name ON folders (owner_id, parent_id, name);

CREATE TABLE files (
    id           TEXT PRIMARY KEY,
    owner_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    folder_id    TEXT NOT NULL DEFAULT '',
    name         TEXT NOT NULL,
    size         BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    signature    TEXT NOT NULL,
    blob_key     TEXT NOT NULL UNIQUE,
    is_public    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX files_unique_name ON files (owner_id, folder_id, name);

-- Share links: the token is stored only as its SHA-256.
CREATE TABLE links (
    id              TEXT PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    file_id         TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    created_by      TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,
    password_hash   TEXT,
    max_downloads   BIGINT,
    downloads       BIGINT NOT NULL DEFAULT 0,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT NOT NULL DEFAULT 0,
    revoked_at      BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX links_by_file ON links (file_id);
