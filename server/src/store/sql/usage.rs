//! [`UsageLedger`] in SQL (`usage_samples`).

use async_trait::async_trait;
use sqlx::Row;
use strongroom_audit::AuditEvent;

use super::SqlStore;
use crate::store::Result;
use crate::store::db::{BeginWrite, on_db};
use crate::store::usage::{UsageFigures, UsageLedger, UsageSample};

const COLUMNS: &str = "s.user_id, s.seq, s.at, s.files, s.versions, s.logical_bytes, s.stored_bytes, s.trash_files, s.trash_bytes";

macro_rules! sample_from_row {
    ($row:expr) => {{
        let r = $row;
        let n = |c: &str| -> Result<u64> { Ok(r.try_get::<i64, _>(c)?.max(0) as u64) };
        Ok::<_, crate::store::Error>(UsageSample {
            user_id: r.try_get("user_id")?,
            seq: r.try_get("seq")?,
            at: r.try_get("at")?,
            figures: UsageFigures {
                files: n("files")?,
                versions: n("versions")?,
                logical_bytes: n("logical_bytes")?,
                stored_bytes: n("stored_bytes")?,
                trash_files: n("trash_files")?,
                trash_bytes: n("trash_bytes")?,
            },
        })
    }};
}

fn big(n: u64) -> i64 {
    n.min(i64::MAX as u64) as i64
}

#[async_trait]
impl UsageLedger for SqlStore {
    async fn latest(&self) -> Result<Vec<UsageSample>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM usage_samples s WHERE s.seq = \
             (SELECT MAX(t.seq) FROM usage_samples t WHERE t.user_id = s.user_id) ORDER BY s.user_id"
        );
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(pool).await?;
            rows.iter().map(|r| sample_from_row!(r)).collect()
        })
    }

    async fn append(&self, samples: &[(UsageSample, AuditEvent)]) -> Result<u64> {
        // Only the successor of the account's last sample goes in; a second meter's copy of the
        // same change finds its `seq` taken (or, on PostgreSQL, waits for the first to commit
        // and then does) and writes nothing.
        const SQL: &str = "INSERT INTO usage_samples \
            (user_id, seq, at, files, versions, logical_bytes, stored_bytes, trash_files, trash_bytes) \
            SELECT CAST($1 AS TEXT), CAST($2 AS BIGINT), CAST($3 AS BIGINT), CAST($4 AS BIGINT), \
                CAST($5 AS BIGINT), CAST($6 AS BIGINT), CAST($7 AS BIGINT), CAST($8 AS BIGINT), CAST($9 AS BIGINT) \
            WHERE CAST($2 AS BIGINT) = (SELECT COALESCE(MAX(seq), 0) + 1 FROM usage_samples WHERE user_id = $1) \
            ON CONFLICT (user_id, seq) DO NOTHING";
        let mut written = 0;
        let run = async {
            on_db!(&self.db, pool, outbox => {
                let _turn = self.db.writer().await;
                let mut tx = pool.begin_write().await?;
                for (s, event) in samples {
                    let f = &s.figures;
                    let n = sqlx::query(SQL)
                        .bind(&s.user_id)
                        .bind(s.seq)
                        .bind(s.at)
                        .bind(big(f.files))
                        .bind(big(f.versions))
                        .bind(big(f.logical_bytes))
                        .bind(big(f.stored_bytes))
                        .bind(big(f.trash_files))
                        .bind(big(f.trash_bytes))
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if n == 1 {
                        outbox.enqueue(&mut tx, event).await?;
                        written += 1;
                    }
                }
                tx.commit().await?;
            });
            Ok::<_, crate::store::Error>(())
        };
        run.await?;
        Ok(written)
    }

    async fn history(
        &self,
        from: i64,
        to: i64,
        after: Option<&str>,
        accounts: usize,
    ) -> Result<Vec<UsageSample>> {
        let sql = format!(
            "WITH page AS (SELECT DISTINCT user_id FROM usage_samples \
                 WHERE at < $2 AND ($3 IS NULL OR user_id > $3) ORDER BY user_id LIMIT $4) \
             SELECT {COLUMNS} FROM usage_samples s JOIN page p ON p.user_id = s.user_id \
             WHERE (s.at >= $1 AND s.at < $2) OR s.seq = \
                 (SELECT MAX(t.seq) FROM usage_samples t WHERE t.user_id = s.user_id AND t.at < $1) \
             ORDER BY s.user_id, s.seq"
        );
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(from)
                .bind(to)
                .bind(after)
                .bind(accounts.min(i64::MAX as usize) as i64)
                .fetch_all(pool)
                .await?;
            rows.iter().map(|r| sample_from_row!(r)).collect()
        })
    }
}
