-- One row per chain: its head. Appends lock it (SELECT ... FOR UPDATE) and compare-and-set it.
CREATE TABLE audit_chains (
    chain TEXT PRIMARY KEY,
    seq   BIGINT NOT NULL,
    hash  BYTEA NOT NULL
);

CREATE TABLE audit_records (
    chain         TEXT NOT NULL,
    seq           BIGINT NOT NULL,
    event_id      TEXT NOT NULL,
    time_us       BIGINT NOT NULL,
    actor_kind    TEXT NOT NULL,
    actor_id      TEXT NOT NULL,
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    event         TEXT NOT NULL,
    prev_hash     BYTEA NOT NULL,
    hash          BYTEA NOT NULL,
    PRIMARY KEY (chain, seq),
    UNIQUE (chain, event_id)
);
CREATE INDEX audit_records_actor ON audit_records (chain, actor_kind, actor_id, seq);
CREATE INDEX audit_records_resource ON audit_records (chain, resource_type, resource_id, seq);
CREATE INDEX audit_records_action ON audit_records (chain, action, seq);
CREATE INDEX audit_records_time ON audit_records (chain, time_us, seq);

-- Signed checkpoints (kind 'checkpoint') and the retention anchor (kind 'anchor', at most one per chain).
CREATE TABLE audit_checkpoints (
    chain     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    seq       BIGINT NOT NULL,
    head      BYTEA NOT NULL,
    time_us   BIGINT NOT NULL,
    key_id    TEXT NOT NULL,
    signature BYTEA NOT NULL,
    PRIMARY KEY (chain, kind, seq)
);
