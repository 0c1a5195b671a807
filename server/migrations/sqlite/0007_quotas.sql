-- Per-user quota overrides (NULL: the operator's default, `quotas.default_bytes` /
-- `quotas.default_files`). Counted over every version of every file, trash included.
ALTER TABLE users ADD COLUMN quota_bytes BIGINT;
ALTER TABLE users ADD COLUMN quota_files BIGINT;
