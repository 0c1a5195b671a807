-- Uploads and downloads per UTC day and owner, for GET /stats and GET /admin/stats. The store
-- bumps a row in the transaction of each event that counts (file.uploaded, file.versioned,
-- file.downloaded), so the counts follow the audit trail. No foreign key: a platform's history
-- outlives the accounts in it.
CREATE TABLE daily_activity (
    day            TEXT NOT NULL,
    owner_id       TEXT NOT NULL,
    uploads        BIGINT NOT NULL DEFAULT 0,
    upload_bytes   BIGINT NOT NULL DEFAULT 0,
    downloads      BIGINT NOT NULL DEFAULT 0,
    download_bytes BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, owner_id)
);
CREATE INDEX daily_activity_by_owner ON daily_activity (owner_id, day);

-- Uploads before this migration, from the versions still kept (pruned ones are not counted);
-- downloads before it were not counted anywhere but the audit trail.
INSERT INTO daily_activity (day, owner_id, uploads, upload_bytes)
SELECT strftime('%Y-%m-%d', v.created_at / 1000000, 'unixepoch'), f.owner_id, COUNT(*), SUM(v.size)
FROM file_versions v JOIN files f ON f.id = v.file_id
WHERE v.restored_from IS NULL
GROUP BY strftime('%Y-%m-%d', v.created_at / 1000000, 'unixepoch'), f.owner_id;
