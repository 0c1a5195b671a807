CREATE TABLE policy_documents (
    id   TEXT PRIMARY KEY NOT NULL,
    text TEXT NOT NULL
);

CREATE TABLE policy_template_links (
    id            TEXT PRIMARY KEY NOT NULL,
    template      TEXT NOT NULL,
    principal     TEXT,
    resource      TEXT,
    expires_at_ms BIGINT
);

CREATE TABLE policy_store_version (
    singleton INTEGER PRIMARY KEY NOT NULL CHECK (singleton = 1),
    version   BIGINT NOT NULL
);

INSERT INTO policy_store_version (singleton, version) VALUES (1, 0);
