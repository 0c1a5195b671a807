use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use sqlx::SqliteConnection;
use sqlx::sqlite::SqlitePool;

use super::sql::{EntryRow, sql_outbox};
use crate::Result;
use crate::clock::{Clock, SystemClock, add, micros};
use crate::store::sql::db_error;

/// A transactional outbox in SQLite (feature `sqlite`): enqueue events in the same transaction as
/// the change they describe, and let an [`OutboxRelay`](crate::OutboxRelay) publish them.
#[derive(Debug, Clone)]
pub struct SqliteOutbox {
    pool: SqlitePool,
    clock: Arc<dyn Clock>,
}

impl SqliteOutbox {
    /// Uses the application's pool (the outbox table must live in the database the application
    /// writes) and runs this crate's migrations, recorded apart from the application's.
    pub async fn new(pool: SqlitePool) -> Result<SqliteOutbox> {
        crate::store::sqlite::migrate_sqlite(&pool).await?;
        Ok(SqliteOutbox {
            pool,
            clock: Arc::new(SystemClock),
        })
    }
}

sql_outbox!(SqliteOutbox, sqlx::Sqlite, SqliteConnection);

/// One UPDATE statement is atomic in SQLite (a single writer), so claims never overlap.
async fn claim_rows(
    pool: &SqlitePool,
    relay: &str,
    now: Timestamp,
    lease: Duration,
    limit: usize,
) -> Result<Vec<EntryRow>> {
    sqlx::query_as(
        "UPDATE audit_outbox SET claimed_by = ?, claimed_until_us = ?, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM audit_outbox WHERE next_attempt_us <= ? \
         AND (claimed_until_us IS NULL OR claimed_until_us <= ?) ORDER BY id LIMIT ?) \
         RETURNING id, payload, attempts",
    )
    .bind(relay)
    .bind(micros(add(now, lease)))
    .bind(micros(now))
    .bind(micros(now))
    .bind(limit as i64)
    .fetch_all(pool)
    .await
    .map_err(|e| db_error("claiming outbox rows", e))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::SqliteOutbox;
    use crate::conformance::outbox::{self as suite, EnqueueFn};
    use crate::{Clock, DynOutbox, ManualClock};

    async fn outbox(dir: &tempfile::TempDir, clock: &ManualClock) -> (SqliteOutbox, EnqueueFn) {
        let pool = crate::store::sqlite::open_sqlite(dir.path().join("app.db").to_str().unwrap())
            .await
            .unwrap();
        let outbox = SqliteOutbox::new(pool.clone())
            .await
            .unwrap()
            .with_clock(Arc::new(clock.clone()) as Arc<dyn Clock>);
        let o = outbox.clone();
        let enqueue: EnqueueFn = Arc::new(move |events| {
            let o = o.clone();
            let pool = pool.clone();
            Box::pin(async move {
                let mut tx = pool.begin().await.unwrap();
                for e in &events {
                    o.enqueue(&mut tx, e).await.unwrap();
                }
                tx.commit().await.unwrap();
            })
        });
        (outbox, enqueue)
    }

    #[tokio::test]
    async fn enqueue_follows_the_callers_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let (outbox, _) = outbox(&dir, &suite::clock()).await;
        let pool = outbox.pool.clone();
        sqlx::query("CREATE TABLE files (id TEXT PRIMARY KEY)")
            .execute(&pool)
            .await
            .unwrap();
        let event = suite::event(1);

        let mut tx = pool.begin().await.unwrap();
        sqlx::query("INSERT INTO files (id) VALUES ('f1')")
            .execute(&mut *tx)
            .await
            .unwrap();
        outbox.enqueue(&mut tx, &event).await.unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(outbox.pending().await.unwrap(), 0);

        let mut tx = pool.begin().await.unwrap();
        sqlx::query("INSERT INTO files (id) VALUES ('f1')")
            .execute(&mut *tx)
            .await
            .unwrap();
        outbox.enqueue(&mut tx, &event).await.unwrap();
        let err = outbox.enqueue(&mut tx, &event).await.unwrap_err();
        assert!(matches!(err, crate::Error::DuplicateEvent { .. }), "{err}");
        tx.commit().await.unwrap();
        assert_eq!(outbox.pending().await.unwrap(), 1);
        let (files,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM files")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(files, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn relay_suite_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let clock = suite::clock();
        let (outbox, enqueue) = outbox(&dir, &clock).await;
        let outbox: Arc<DynOutbox> = Arc::new(outbox);
        suite::run_all(outbox, enqueue, clock).await;
    }
}
