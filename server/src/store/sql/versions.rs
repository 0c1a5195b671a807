//! [`VersionStore`] in SQL: a new version and the files row's mirror of it change in one
//! transaction, under the file's row lock.

use async_trait::async_trait;
use sqlx::Row;
use strongroom_audit::AuditEvent;

use super::SqlStore;
use crate::store::db::{RowLock, in_tx_with_event, on_db};
use crate::store::{
    Error, NewVersion, Removed, Result, VersionRecord, VersionStore, versions::CURRENT_VERSION,
};

const COLUMNS: &str = "file_id, version, size, content_type, sha256, signature, blob_key, created_by, created_at, restored_from";

macro_rules! version_from_row {
    ($row:expr) => {{
        let r = $row;
        let size: i64 = r.try_get("size")?;
        VersionRecord {
            file_id: r.try_get("file_id")?,
            version: r.try_get("version")?,
            size: size.max(0) as u64,
            content_type: r.try_get("content_type")?,
            sha256: r.try_get("sha256")?,
            signature: r.try_get("signature")?,
            blob_key: r.try_get("blob_key")?,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
            restored_from: r.try_get("restored_from")?,
        }
    }};
}

/// Versions neither rule keeps, oldest first: `$1` keep-last count (0: no rule), `$2` keep-since
/// time (NULL: no rule), `$3` limit. The current version is never among them.
const EXPIRED_SQL: &str = "SELECT v.file_id, v.version FROM ( \
        SELECT file_id, version, created_at, \
               ROW_NUMBER() OVER (PARTITION BY file_id ORDER BY version DESC) AS newest \
        FROM file_versions) v \
    JOIN files f ON f.id = v.file_id \
    WHERE v.version <> f.version \
      AND ($1 = 0 OR v.newest > $1) \
      AND ($2 IS NULL OR v.created_at < $2) \
    ORDER BY v.created_at, v.file_id, v.version LIMIT $3";

#[async_trait]
impl VersionStore for SqlStore {
    async fn add(&self, v: &NewVersion, event: &AuditEvent) -> Result<VersionRecord> {
        let record: VersionRecord;
        in_tx_with_event!(&self.db, event, |tx| {
            let Some((current, sha256)) = tx.lock_file(&v.file_id).await? else {
                return Err(Error::NotFound);
            };
            if let Some(tags) = &v.if_match
                && !tags.contains(&sha256)
            {
                return Err(Error::Stale { current });
            }
            let owner: String = sqlx::query("SELECT owner_id FROM files WHERE id = $1")
                .bind(&v.file_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("owner_id")?;
            record = VersionRecord {
                file_id: v.file_id.clone(),
                version: current + 1,
                size: v.size,
                content_type: v.content_type.clone(),
                sha256: v.sha256.clone(),
                signature: v.signature.clone(),
                blob_key: v.blob_key.clone(),
                created_by: v.created_by.clone(),
                created_at: v.at,
                restored_from: v.restored_from,
            };
            let size = record.size.min(i64::MAX as u64) as i64;
            sqlx::query(
                "INSERT INTO file_versions (file_id, version, size, content_type, sha256, signature, blob_key, created_by, created_at, restored_from) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&record.file_id)
            .bind(record.version)
            .bind(size)
            .bind(&record.content_type)
            .bind(&record.sha256)
            .bind(&record.signature)
            .bind(&record.blob_key)
            .bind(&record.created_by)
            .bind(record.created_at)
            .bind(record.restored_from)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE files SET version = $1, size = $2, content_type = $3, sha256 = $4, signature = $5, \
                 blob_key = $6, updated_at = $7 WHERE id = $8",
            )
            .bind(record.version)
            .bind(size)
            .bind(&record.content_type)
            .bind(&record.sha256)
            .bind(&record.signature)
            .bind(&record.blob_key)
            .bind(record.created_at)
            .bind(&record.file_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE search_docs SET words = $1 WHERE file_id = $2")
                .bind(&v.words)
                .bind(&record.file_id)
                .execute(&mut *tx)
                .await?;
            check_quota!(tx, &owner, &v.quota, 0, 0)
        });
        Ok(record)
    }

    async fn list(&self, file_id: &str) -> Result<Vec<VersionRecord>> {
        let sql =
            format!("SELECT {COLUMNS} FROM file_versions WHERE file_id = $1 ORDER BY version DESC");
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(file_id).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(version_from_row!(row));
            }
            Ok(out)
        })
    }

    async fn get(&self, file_id: &str, version: i64) -> Result<Option<VersionRecord>> {
        let sql =
            format!("SELECT {COLUMNS} FROM file_versions WHERE file_id = $1 AND version = $2");
        on_db!(&self.db, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(file_id).bind(version).fetch_optional(pool).await? {
                Some(row) => Ok(Some(version_from_row!(&row))),
                None => Ok(None),
            }
        })
    }

    async fn remove(&self, file_id: &str, version: i64, event: &AuditEvent) -> Result<Removed> {
        let unreferenced: Option<String>;
        in_tx_with_event!(&self.db, event, |tx| {
            let Some((current, _)) = tx.lock_file(file_id).await? else {
                return Err(Error::NotFound);
            };
            if current == version {
                return Err(Error::Conflict(CURRENT_VERSION.into()));
            }
            let blob: Option<String> = sqlx::query(
                "DELETE FROM file_versions WHERE file_id = $1 AND version = $2 RETURNING blob_key",
            )
            .bind(file_id)
            .bind(version)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get("blob_key"))
            .transpose()?;
            let Some(blob) = blob else {
                return Err(Error::NotFound);
            };
            let used =
                sqlx::query("SELECT 1 AS one FROM file_versions WHERE blob_key = $1 LIMIT 1")
                    .bind(&blob)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some();
            unreferenced = (!used).then_some(blob);
        });
        Ok(Removed {
            unreferenced_blob: unreferenced,
        })
    }

    async fn expired(
        &self,
        keep_last: u32,
        keep_since: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(String, i64)>> {
        if keep_last == 0 && keep_since.is_none() {
            return Ok(Vec::new());
        }
        on_db!(&self.db, pool => {
            let rows = sqlx::query(EXPIRED_SQL)
                .bind(i64::from(keep_last))
                .bind(keep_since)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push((r.try_get("file_id")?, r.try_get("version")?));
            }
            Ok(out)
        })
    }

    async fn blob_in_use(&self, key: &str) -> Result<bool> {
        on_db!(&self.db, pool => Ok(sqlx::query("SELECT 1 AS one FROM file_versions WHERE blob_key = $1 LIMIT 1")
            .bind(key)
            .fetch_optional(pool)
            .await?
            .is_some()))
    }
}
