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
-- transaction that writes the file's name or content. Two FTS5 indexes read it: trigrams of
-- the name (substrings in any script) and the words (word prefixes).
CREATE TABLE search_docs (
    doc_id   INTEGER PRIMARY KEY,
    file_id  TEXT NOT NULL UNIQUE REFERENCES files (id) ON DELETE CASCADE,
    name_key TEXT NOT NULL,
    words    TEXT NOT NULL
);
CREATE VIRTUAL TABLE search_names USING fts5 (name_key, content='search_docs', content_rowid='doc_id', tokenize='trigram');
CREATE VIRTUAL TABLE search_words USING fts5 (words, content='search_docs', content_rowid='doc_id', tokenize='unicode61 remove_diacritics 0');
CREATE TRIGGER search_docs_inserted AFTER INSERT ON search_docs BEGIN
    INSERT INTO search_names (rowid, name_key) VALUES (new.doc_id, new.name_key);
    INSERT INTO search_words (rowid, words) VALUES (new.doc_id, new.words);
END;
CREATE TRIGGER search_docs_deleted AFTER DELETE ON search_docs BEGIN
    INSERT INTO search_names (search_names, rowid, name_key) VALUES ('delete', old.doc_id, old.name_key);
    INSERT INTO search_words (search_words, rowid, words) VALUES ('delete', old.doc_id, old.words);
END;
CREATE TRIGGER search_docs_updated AFTER UPDATE ON search_docs BEGIN
    INSERT INTO search_names (search_names, rowid, name_key) VALUES ('delete', old.doc_id, old.name_key);
    INSERT INTO search_words (search_words, rowid, words) VALUES ('delete', old.doc_id, old.words);
    INSERT INTO search_names (rowid, name_key) VALUES (new.doc_id, new.name_key);
    INSERT INTO search_words (rowid, words) VALUES (new.doc_id, new.words);
END;

-- Files from before the index: their names, folded in ASCII only (their content is not indexed).
INSERT INTO search_docs (file_id, name_key, words) SELECT id, lower(name), '' FROM files;
