-- The usage ledger: one sample per change of an account's usage, numbered per account. Kept
-- when the account goes (billing needs the past), so no foreign key to users.
CREATE TABLE usage_samples (
    user_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    files BIGINT NOT NULL,
    versions BIGINT NOT NULL,
    logical_bytes BIGINT NOT NULL,
    stored_bytes BIGINT NOT NULL,
    trash_files BIGINT NOT NULL,
    trash_bytes BIGINT NOT NULL,
    PRIMARY KEY (user_id, seq)
);
CREATE INDEX usage_samples_at ON usage_samples (at);
