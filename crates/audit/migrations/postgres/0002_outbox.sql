-- Transactional outbox: rows are inserted in the application's own transaction and deleted by the
-- relay once published. Relays claim rows with FOR UPDATE SKIP LOCKED plus a lease.
CREATE TABLE audit_outbox (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id         TEXT NOT NULL UNIQUE,
    payload          TEXT NOT NULL,
    created_us       BIGINT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_us  BIGINT NOT NULL,
    claimed_by       TEXT,
    claimed_until_us BIGINT,
    last_error       TEXT
);
CREATE INDEX audit_outbox_due ON audit_outbox (next_attempt_us, id);
