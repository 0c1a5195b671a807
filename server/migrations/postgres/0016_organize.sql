-- Organize and find: tags, typed fields on files (with optional per-owner schemas) and the
-- search index.

-- Each owner (a person, or a team's account) has its own tag vocabulary. `name_key` is the name
-- folded to lower case: "Urgent" and "urgent" are one tag.
CREATE TABLE tags (
    id         TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL,
    colour     TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX tags_unique_name ON tags (owner_id, name_key);

CREATE TABLE file_tags (
    tag_id    TEXT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    file_id   TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    tagged_by TEXT NOT NULL,
    tagged_at BIGINT NOT NULL,
    PRIMARY KEY (tag_id, file_id)
);
CREATE INDEX file_tags_by_file ON file_tags (file_id);

CREATE TABLE folder_tags (
    tag_id    TEXT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    folder_id TEXT NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
    tagged_by TEXT NOT NULL,
    tagged_at BIGINT NOT NULL,
    PRIMARY KEY (tag_id, folder_id)
);
CREATE INDEX folder_tags_by_folder ON folder_tags (folder_id);

-- Typed fields on files. `kind` is string, number, boolean or date. A string is in
-- `text_value` (and folded to lower case in `text_key`, for search); a number, a boolean (0/1)
-- and a date (microseconds since the epoch) are in `number_value`, so ranges compare numbers.
CREATE TABLE file_fields (
    file_id      TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    kind         TEXT NOT NULL,
    text_value   TEXT,
    text_key     TEXT,
    number_value DOUBLE PRECISION,
    PRIMARY KEY (file_id, key)
);
CREATE INDEX file_fields_by_key ON file_fields (key, number_value);

-- An owner's field schema: when an owner has one, every field on its files is declared here,
-- of the declared kind, and a string with `choices` (a JSON array) is one of them.
CREATE TABLE field_schemas (
    owner_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    kind        TEXT NOT NULL,
    choices     TEXT,
    description TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (owner_id, key)
);

-- The search document of each file: its name folded to lower case, and the distinct words of
-- its current content's text (folded, for text-like files; empty otherwise). Written in the
-- transaction that writes the file's name or content. A trigram index on the name (substrings
-- in any script, pg_trgm) and a GIN index on the words' tsvector (word prefixes).
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
EXCEPTION WHEN unique_violation OR duplicate_object THEN
    NULL;
END $$;

CREATE TABLE search_docs (
    file_id  TEXT PRIMARY KEY REFERENCES files (id) ON DELETE CASCADE,
    name_key TEXT NOT NULL,
    words    TEXT NOT NULL,
    doc      tsvector GENERATED ALWAYS AS (to_tsvector('simple', words)) STORED
);
CREATE INDEX search_docs_words ON search_docs USING gin (doc);
CREATE INDEX search_docs_names ON search_docs USING gin (name_key public.gin_trgm_ops);

-- Files from before the index: their names (their content is not indexed).
INSERT INTO search_docs (file_id, name_key, words) SELECT id, lower(name), '' FROM files;
