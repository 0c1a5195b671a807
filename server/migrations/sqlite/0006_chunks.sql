-- Content-defined chunks, stored once per owner (see server/src/store/chunks.rs).
-- refs: places in committed chunk lists plus pins of uploads in progress; -1: claimed by the
-- collector. generation: part of the object key, bumped when a pin takes back a claimed chunk.
CREATE TABLE chunks (
    owner_id   TEXT NOT NULL,
    chunk_id   TEXT NOT NULL,
    size       BIGINT NOT NULL,
    refs       BIGINT NOT NULL,
    generation BIGINT NOT NULL,
    written    BOOLEAN NOT NULL,
    sealed     BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (owner_id, chunk_id)
);
CREATE INDEX chunks_unreferenced ON chunks (refs) WHERE refs <= 0;

-- A committed content (a version's blob_key) and its chunk list.
CREATE TABLE contents (
    blob_key   TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL,
    size       BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX contents_by_time ON contents (created_at);

CREATE TABLE content_chunks (
    blob_key    TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    chunk_id    TEXT NOT NULL,
    byte_offset BIGINT NOT NULL,
    size        BIGINT NOT NULL,
    PRIMARY KEY (blob_key, seq)
);

-- Chunks an upload in progress holds (count: how often it appears in the upload).
CREATE TABLE upload_pins (
    upload_id TEXT NOT NULL,
    owner_id  TEXT NOT NULL,
    chunk_id  TEXT NOT NULL,
    count     BIGINT NOT NULL,
    pinned_at BIGINT NOT NULL,
    PRIMARY KEY (upload_id, chunk_id)
);
CREATE INDEX upload_pins_by_time ON upload_pins (pinned_at);

-- Each owner's data key, wrapped (hex of nonce and ciphertext) by a key-encryption key from the
-- key directory; rotating that key rewraps these rows and leaves every chunk as it is. It goes
-- with its account, so chunks not yet collected after an account deletion are unreadable.
CREATE TABLE data_keys (
    owner_id   TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    kek_id     TEXT NOT NULL,
    wrapped    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
