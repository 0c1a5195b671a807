-- Transactional outbox: rows are inserted in the application's own transaction and deleted by the
-- relay once published.
CREATE TABLE audit_outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id         TEXT NOT NULL UNIQUE,
    payload          TEXT NOT NULL,
    created_us       INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_us  INTEGER NOT NULL,
    claimed_by       TEXT,
    claimed_until_us INTEGER,
    last_error       TEXT
);
CREATE INDEX audit_outbox_due ON audit_outbox (next_attempt_us, id);
