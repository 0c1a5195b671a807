-- One row per chain record. A chain is one subject's history, named by a keyed digest of the
-- subject id; (chain, seq) being the primary key is what stops two writers forking a chain.
CREATE TABLE consent_records (
    chain        TEXT   NOT NULL,
    seq          BIGINT NOT NULL CHECK (seq > 0),
    recorded_at  BIGINT NOT NULL,  -- microseconds since the Unix epoch
    kind         TEXT   NOT NULL,
    header       TEXT   NOT NULL,  -- JSON text (not jsonb: kept exactly as written)
    payload      TEXT,             -- JSON text, personal; NULL once erased
    payload_hash TEXT   NOT NULL,
    prev_hash    TEXT   NOT NULL,
    hash         TEXT   NOT NULL,
    PRIMARY KEY (chain, seq)
);

-- Append-only: no deletes, and the only update allowed is dropping a payload.
CREATE FUNCTION consent_records_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'consent_records is append-only';
    END IF;
    IF NEW.payload IS NOT NULL
       OR (NEW.chain, NEW.seq, NEW.recorded_at, NEW.kind, NEW.header,
           NEW.payload_hash, NEW.prev_hash, NEW.hash)
          IS DISTINCT FROM
          (OLD.chain, OLD.seq, OLD.recorded_at, OLD.kind, OLD.header,
           OLD.payload_hash, OLD.prev_hash, OLD.hash)
    THEN
        RAISE EXCEPTION 'consent_records only allows dropping payloads';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER consent_records_guard
BEFORE UPDATE OR DELETE ON consent_records
FOR EACH ROW EXECUTE FUNCTION consent_records_guard();
