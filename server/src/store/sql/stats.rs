//! [`StatsStore`] in SQL: sums over `files` and `file_versions`, and `daily_activity` (bumped by
//! [`crate::store::db::in_tx_with_event!`] with each event that counts).

use async_trait::async_trait;
use sqlx::Row;

use super::SqlStore;
use crate::store::Result;
use crate::store::db::on_db;
use crate::store::stats::{DayCounts, Holding, OlderVersions, StatsStore};

/// The text after the last dot, in SQL both dialects run: `rtrim` strips the trailing
/// characters that are not dots (the set of every character of the name without its dots),
/// leaving the name up to its last dot, which `replace` then takes away.
const EXTENSION: &str = "CASE WHEN name LIKE '%.%' \
    THEN lower(replace(name, rtrim(name, replace(name, '.', '')), '')) ELSE '' END";

fn count(n: i64) -> u64 {
    n.max(0) as u64
}

#[async_trait]
impl StatsStore for SqlStore {
    async fn holdings(&self, owner: Option<&str>) -> Result<Vec<Holding>> {
        let sql = format!(
            "SELECT owner_id, content_type, {EXTENSION} AS ext, \
                CASE WHEN trashed_at IS NULL THEN 0 ELSE 1 END AS trashed, \
                COUNT(*) AS n, CAST(COALESCE(SUM(size), 0) AS BIGINT) AS bytes \
             FROM files WHERE (CAST($1 AS TEXT) = '' OR owner_id = $1) \
             GROUP BY owner_id, content_type, {EXTENSION}, CASE WHEN trashed_at IS NULL THEN 0 ELSE 1 END"
        );
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(owner.unwrap_or(""))
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(Holding {
                        owner_id: r.try_get("owner_id")?,
                        content_type: r.try_get("content_type")?,
                        extension: r.try_get("ext")?,
                        trashed: r.try_get::<i32, _>("trashed")? != 0,
                        files: count(r.try_get("n")?),
                        bytes: count(r.try_get("bytes")?),
                    })
                })
                .collect()
        })
    }

    async fn older_versions(&self, owner: Option<&str>) -> Result<Vec<OlderVersions>> {
        const SQL: &str = "SELECT f.owner_id, COUNT(*) AS n, CAST(COALESCE(SUM(v.size), 0) AS BIGINT) AS bytes \
             FROM file_versions v JOIN files f ON f.id = v.file_id \
             WHERE v.version <> f.version AND (CAST($1 AS TEXT) = '' OR f.owner_id = $1) \
             GROUP BY f.owner_id ORDER BY f.owner_id";
        on_db!(&self.db, pool => {
            let rows = sqlx::query(SQL).bind(owner.unwrap_or("")).fetch_all(pool).await?;
            rows.iter()
                .map(|r| {
                    Ok(OlderVersions {
                        owner_id: r.try_get("owner_id")?,
                        versions: count(r.try_get("n")?),
                        bytes: count(r.try_get("bytes")?),
                    })
                })
                .collect()
        })
    }

    async fn days(
        &self,
        owner: Option<&str>,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, DayCounts)>> {
        const SQL: &str = "SELECT day, CAST(SUM(uploads) AS BIGINT) AS uploads, \
                CAST(SUM(upload_bytes) AS BIGINT) AS upload_bytes, \
                CAST(SUM(downloads) AS BIGINT) AS downloads, \
                CAST(SUM(download_bytes) AS BIGINT) AS download_bytes \
             FROM daily_activity \
             WHERE day >= $2 AND day <= $3 AND (CAST($1 AS TEXT) = '' OR owner_id = $1) \
             GROUP BY day ORDER BY day";
        on_db!(&self.db, pool => {
            let rows = sqlx::query(SQL)
                .bind(owner.unwrap_or(""))
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok((
                        r.try_get("day")?,
                        DayCounts {
                            uploads: count(r.try_get("uploads")?),
                            upload_bytes: count(r.try_get("upload_bytes")?),
                            downloads: count(r.try_get("downloads")?),
                            download_bytes: count(r.try_get("download_bytes")?),
                        },
                    ))
                })
                .collect()
        })
    }
}
