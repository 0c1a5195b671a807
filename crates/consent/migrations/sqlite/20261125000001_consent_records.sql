-- One row per chain record. A chain is one subject's history, named by a keyed digest of the
-- subject id; (chain, seq) being the primary key is what stops two writers forking a chain.
CREATE TABLE consent_records (
    chain        TEXT    NOT NULL,
    seq          INTEGER NOT NULL CHECK (seq > 0),
    recorded_at  INTEGER NOT NULL,  -- microseconds since the Unix epoch
    kind         TEXT    NOT NULL,
    header       TEXT    NOT NULL,  -- JSON, non-personal facts
    payload      TEXT,              -- JSON, personal; NULL once erased
    payload_hash TEXT    NOT NULL,
    prev_hash    TEXT    NOT NULL,
    hash         TEXT    NOT NULL,
    PRIMARY KEY (chain, seq)
) WITHOUT ROWID;

-- Append-only: no deletes, and the only update allowed is dropping a payload.
CREATE TRIGGER consent_records_no_delete
BEFORE DELETE ON consent_records
BEGIN
    SELECT RAISE(ABORT, 'consent_records is append-only');
END;

CREATE TRIGGER consent_records_redact_only
BEFORE UPDATE ON consent_records
WHEN NEW.payload IS NOT NULL
  OR NEW.chain IS NOT OLD.chain
  OR NEW.seq IS NOT OLD.seq
  OR NEW.recorded_at IS NOT OLD.recorded_at
  OR NEW.kind IS NOT OLD.kind
  OR NEW.header IS NOT OLD.header
  OR NEW.payload_hash IS NOT OLD.payload_hash
  OR NEW.prev_hash IS NOT OLD.prev_hash
  OR NEW.hash IS NOT OLD.hash
BEGIN
    SELECT RAISE(ABORT, 'consent_records only allows dropping payloads');
END;
