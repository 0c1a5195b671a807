-- Every content a file has had, numbered from 1. The files row keeps a copy of the current
-- version's columns (reads of the current content need no join) and its number.
CREATE TABLE file_versions (
    file_id       TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    version       BIGINT NOT NULL,
    size          BIGINT NOT NULL,
    content_type  TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    signature     TEXT NOT NULL,
    blob_key      TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    restored_from BIGINT,
    PRIMARY KEY (file_id, version)
);
CREATE INDEX file_versions_by_blob ON file_versions (blob_key);
CREATE INDEX file_versions_by_time ON file_versions (created_at);

ALTER TABLE files ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

INSERT INTO file_versions (file_id, version, size, content_type, sha256, signature, blob_key, created_by, created_at)
SELECT id, 1, size, content_type, sha256, signature, blob_key, owner_id, updated_at FROM files;
