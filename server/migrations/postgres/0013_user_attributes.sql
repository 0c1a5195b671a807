-- Tags and custom field values administrators set on accounts (JSON: {"tags": [...],
-- "fields": {...}}), read by policies as principal attributes.
ALTER TABLE users ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
