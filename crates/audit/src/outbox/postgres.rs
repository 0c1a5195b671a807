use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use sqlx::PgConnection;
use sqlx::postgres::PgPool;

use super::sql::{EntryRow, sql_outbox};
use crate::Result;
use crate::clock::{Clock, SystemClock, add, micros};
use crate::store::sql::db_error;

/// A transactional outbox in PostgreSQL (feature `postgres`): enqueue events in the same
/// transaction as the change they describe, and let an [`OutboxRelay`](crate::OutboxRelay)
/// publish them.
#[derive(Debug, Clone)]
pub struct PostgresOutbox {
    pool: PgPool,
    clock: Arc<dyn Clock>,
}

impl PostgresOutbox {
    /// Uses the application's pool (the outbox table must live in the database the application
    /// writes) and runs this crate's migrations, recorded apart from the application's.
    pub async fn new(pool: PgPool) -> Result<PostgresOutbox> {
        crate::store::postgres::migrate_postgres(&pool).await?;
        Ok(PostgresOutbox {
            pool,
            clock: Arc::new(SystemClock),
        })
    }
}

sql_outbox!(PostgresOutbox, sqlx::Postgres, PgConnection);

/// SKIP LOCKED: concurrent relays each take different rows instead of queueing behind one
/// another; the lease (claimed_until_us) then keeps the rows theirs after this commits.
async fn claim_rows(
    pool: &PgPool,
    relay: &str,
    now: Timestamp,
    lease: Duration,
    limit: usize,
) -> Result<Vec<EntryRow>> {
    sqlx::query_as(
        "UPDATE audit_outbox o SET claimed_by = $1, claimed_until_us = $2, attempts = o.attempts + 1 \
         FROM (SELECT id FROM audit_outbox WHERE next_attempt_us <= $3 \
         AND (claimed_until_us IS NULL OR claimed_until_us <= $3) ORDER BY id LIMIT $4 \
         FOR UPDATE SKIP LOCKED) due WHERE o.id = due.id \
         RETURNING o.id, o.payload, CAST(o.attempts AS BIGINT) AS attempts",
    )
    .bind(relay)
    .bind(micros(add(now, lease)))
    .bind(micros(now))
    .bind(limit as i64)
    .fetch_all(pool)
    .await
    .map_err(|e| db_error("claiming outbox rows", e))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::PostgresOutbox;
    use crate::conformance::outbox::{self as suite, EnqueueFn};
    use crate::{Clock, DynOutbox, ManualClock};

    async fn outbox(test: &str, clock: &ManualClock) -> Option<(PostgresOutbox, EnqueueFn)> {
        let pool = crate::pg_test::schema_pool(test).await?;
        let outbox = PostgresOutbox::new(pool.clone())
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
        Some((outbox, enqueue))
    }

    #[tokio::test]
    async fn enqueue_follows_the_callers_transaction() {
        let Some((outbox, _)) = outbox("outbox_tx", &suite::clock()).await else {
            return;
        };
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
        tx.commit().await.unwrap();
        assert_eq!(outbox.pending().await.unwrap(), 1);
        let mut conn = pool.acquire().await.unwrap();
        let err = outbox.enqueue(&mut conn, &event).await.unwrap_err();
        assert!(matches!(err, crate::Error::DuplicateEvent { .. }), "{err}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn relay_suite_postgres() {
        let clock = suite::clock();
        let Some((outbox, enqueue)) = outbox("outbox_relay", &clock).await else {
            return;
        };
        let outbox: Arc<DynOutbox> = Arc::new(outbox);
        suite::run_all(outbox, enqueue, clock).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn relays_on_separate_pools_never_publish_a_row_twice() {
        let clock = suite::clock();
        let Some((outbox, enqueue)) = outbox("outbox_pools", &clock).await else {
            return;
        };
        let second = PostgresOutbox::new(crate::pg_test::second_pool(&outbox.pool).await)
            .await
            .unwrap()
            .with_clock(Arc::new(clock.clone()) as Arc<dyn Clock>);
        suite::concurrent_relays_publish_each_event_once(
            vec![Arc::new(outbox), Arc::new(second)],
            enqueue,
            clock,
        )
        .await;
    }
}
