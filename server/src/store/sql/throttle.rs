//! [`ThrottleStore`] in SQL: `login_failures` read and rewritten in one write transaction per
//! attempt (PostgreSQL locks the row; SQLite's write transactions take turns), and
//! `rate_windows` bumped by one upsert per request.

use async_trait::async_trait;
use sqlx::Row;
use strongroom_audit::AuditEvent;

use super::SqlStore;
use crate::store::db::{BeginWrite, Db, on_db};
use crate::store::throttle::{Admission, FailureRecord, Next, Rules, ThrottleStore};
use crate::store::{Error, Result};

const COLUMNS: &str = "subject, failures, last_attempt_at, blocked_until, locked_at";

macro_rules! record_from_row {
    ($row:expr) => {{
        let r = $row;
        FailureRecord {
            subject: r.try_get("subject")?,
            failures: u32::try_from(r.try_get::<i64, _>("failures")?.max(0)).unwrap_or(u32::MAX),
            last_attempt_at: r.try_get("last_attempt_at")?,
            blocked_until: r.try_get("blocked_until")?,
            locked_at: r.try_get("locked_at")?,
        }
    }};
}

impl SqlStore {
    /// `SELECT` of one subject's record that, on PostgreSQL, locks its row.
    fn locking_select(&self) -> String {
        let lock = if matches!(self.db, Db::Postgres { .. }) {
            " FOR UPDATE"
        } else {
            ""
        };
        format!("SELECT {COLUMNS} FROM login_failures WHERE subject = $1{lock}")
    }
}

#[async_trait]
impl ThrottleStore for SqlStore {
    async fn admit(&self, subject: &str, rules: &Rules, now: i64) -> Result<Admission> {
        let select = self.locking_select();
        on_db!(&self.db, pool => {
            let _turn = self.db.writer().await;
            let mut tx = pool.begin_write().await?;
            // A row to lock, so that two first attempts take turns too.
            sqlx::query("INSERT INTO login_failures (subject, failures, last_attempt_at) VALUES ($1, 0, $2) ON CONFLICT (subject) DO NOTHING")
                .bind(subject)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let row = sqlx::query(sqlx::AssertSqlSafe(select.as_str()))
                .bind(subject)
                .fetch_one(&mut *tx)
                .await?;
            let prev = record_from_row!(&row);
            let admission = match rules.next(Some(&prev), subject, now) {
                Next::Admit(rec) => {
                    sqlx::query("UPDATE login_failures SET failures = $2, last_attempt_at = $3, blocked_until = $4 WHERE subject = $1")
                        .bind(subject)
                        .bind(i64::from(rec.failures))
                        .bind(rec.last_attempt_at)
                        .bind(rec.blocked_until)
                        .execute(&mut *tx)
                        .await?;
                    Admission::Go { n: rec.failures, until: rec.blocked_until }
                }
                Next::Refuse(a) => a,
            };
            tx.commit().await?;
            Ok(admission)
        })
    }

    async fn confirm_failure(
        &self,
        subject: &str,
        rules: &Rules,
        now: i64,
        lock_event: &AuditEvent,
    ) -> Result<bool> {
        if rules.lock_after == 0 {
            return Ok(false);
        }
        on_db!(&self.db, pool, outbox => {
            let _turn = self.db.writer().await;
            let mut tx = pool.begin_write().await?;
            let locked = sqlx::query("UPDATE login_failures SET locked_at = $2 WHERE subject = $1 AND locked_at IS NULL AND failures >= $3")
                .bind(subject)
                .bind(now)
                .bind(i64::from(rules.lock_after))
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0;
            if locked {
                outbox.enqueue(&mut tx, lock_event).await?;
            }
            tx.commit().await?;
            Ok(locked)
        })
    }

    async fn forgive(&self, subject: &str) -> Result<()> {
        on_db!(&self.db, pool => {
            let _turn = self.db.writer().await;
            sqlx::query("DELETE FROM login_failures WHERE subject = $1 AND locked_at IS NULL")
                .bind(subject)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    async fn refund(&self, subject: &str, until: i64) -> Result<()> {
        on_db!(&self.db, pool => {
            let _turn = self.db.writer().await;
            sqlx::query("UPDATE login_failures SET failures = failures - 1, \
                 blocked_until = CASE WHEN blocked_until = $2 THEN 0 ELSE blocked_until END \
                 WHERE subject = $1 AND failures > 0 AND locked_at IS NULL")
                .bind(subject)
                .bind(until)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    async fn unlock(&self, subject: &str, event: &AuditEvent) -> Result<()> {
        on_db!(&self.db, pool, outbox => {
            let _turn = self.db.writer().await;
            let mut tx = pool.begin_write().await?;
            let gone = sqlx::query("DELETE FROM login_failures WHERE subject = $1 AND locked_at IS NOT NULL")
                .bind(subject)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if gone == 0 {
                return Err(Error::NotFound);
            }
            outbox.enqueue(&mut tx, event).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    async fn clear(&self, subject: &str) -> Result<()> {
        on_db!(&self.db, pool => {
            let _turn = self.db.writer().await;
            sqlx::query("DELETE FROM login_failures WHERE subject = $1")
                .bind(subject)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    async fn failures(&self, subject: &str) -> Result<Option<FailureRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM login_failures WHERE subject = $1");
        on_db!(&self.db, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(subject)
                .fetch_optional(pool)
                .await?;
            Ok(match row {
                Some(r) => Some(record_from_row!(&r)),
                None => None,
            })
        })
    }

    async fn locked(&self, after: Option<&str>, limit: u32) -> Result<Vec<FailureRecord>> {
        // Keyset on (locked_at, subject): the cursor's own lock time is looked up.
        let sql = format!(
            "SELECT {COLUMNS} FROM login_failures WHERE locked_at IS NOT NULL \
             AND (CAST($1 AS TEXT) = '' OR locked_at > (SELECT locked_at FROM login_failures WHERE subject = $1) \
               OR (locked_at = (SELECT locked_at FROM login_failures WHERE subject = $1) AND subject > $1)) \
             ORDER BY locked_at, subject LIMIT $2"
        );
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(after.unwrap_or(""))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.iter().map(|r| Ok(record_from_row!(r))).collect()
        })
    }

    async fn prune(&self, before: i64) -> Result<u64> {
        on_db!(&self.db, pool => {
            let _turn = self.db.writer().await;
            let a = sqlx::query("DELETE FROM login_failures WHERE locked_at IS NULL AND last_attempt_at < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected();
            let b = sqlx::query("DELETE FROM rate_windows WHERE window_start < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected();
            Ok(a + b)
        })
    }

    async fn hit(&self, key: &str, window: i64) -> Result<u64> {
        on_db!(&self.db, pool => {
            let _turn = self.db.writer().await;
            let row = sqlx::query(
                "INSERT INTO rate_windows (key, window_start, hits) VALUES ($1, $2, 1) \
                 ON CONFLICT (key) DO UPDATE SET \
                 hits = CASE WHEN rate_windows.window_start = excluded.window_start THEN rate_windows.hits + 1 ELSE 1 END, \
                 window_start = excluded.window_start \
                 RETURNING hits",
            )
            .bind(key)
            .bind(window)
            .fetch_one(pool)
            .await?;
            let hits: i64 = row.try_get("hits")?;
            Ok(hits.max(0) as u64)
        })
    }
}
