use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::postgres::PgPool;
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::{Backlog, Outbox, OutboxEntry, check_claim, error_excerpt};
use crate::clock::{Clock, SystemClock, add, from_micros, micros};
use crate::store::sql::{db_error, is_unique_violation};
use crate::{AuditEvent, Error, Result};

/// A transactional outbox in PostgreSQL (feature `postgres`): enqueue events in the same transaction as
/// the change they describe, and let an [`OutboxRelay`](crate::OutboxRelay) publish them.
#[derive(Debug, Clone)]
pub struct PostgresOutbox {
    pool: PgPool,
    clock: Arc<dyn Clock>,
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: i64,
    payload: String,
    attempts: i32,
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

    /// Replaces the clock stamped on enqueued rows.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> PostgresOutbox {
        self.clock = clock;
        self
    }

    /// Adds `event` to the outbox on `conn`, typically `&mut tx` of the caller's open transaction:
    /// it is published if and only if that transaction commits. An event id already waiting gives
    /// [`Error::DuplicateEvent`].
    pub async fn enqueue(&self, conn: &mut PgConnection, event: &AuditEvent) -> Result<()> {
        let now = micros(self.clock.now());
        sqlx::query("INSERT INTO audit_outbox (event_id, payload, created_us, next_attempt_us) VALUES ($1, $2, $3, $4)")
            .bind(event.id().to_string())
            .bind(event.to_json())
            .bind(now)
            .bind(now)
            .execute(conn)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::DuplicateEvent { id: event.id() }
                } else {
                    db_error("enqueueing an event", e)
                }
            })?;
        Ok(())
    }

    /// Events waiting to be published.
    pub async fn pending(&self) -> Result<u64> {
        Ok(self.backlog().await?.pending)
    }

    /// How long the oldest waiting event has waited.
    pub async fn lag(&self) -> Result<Duration> {
        Ok(self.backlog().await?.lag(self.clock.now()))
    }
}

fn push_ids(qb: &mut QueryBuilder<Postgres>, ids: &[i64]) {
    let mut list = qb.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    qb.push(")");
}

#[async_trait]
impl Outbox for PostgresOutbox {
    async fn claim(
        &self,
        relay: &str,
        now: Timestamp,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>> {
        check_claim(relay, limit, lease)?;
        // SKIP LOCKED: concurrent relays each take different rows instead of queueing behind one
        // another; the lease (claimed_until_us) then keeps the rows theirs after this commits.
        let mut rows: Vec<EntryRow> = sqlx::query_as(
            "UPDATE audit_outbox o SET claimed_by = $1, claimed_until_us = $2, attempts = o.attempts + 1 \
             FROM (SELECT id FROM audit_outbox WHERE next_attempt_us <= $3 \
             AND (claimed_until_us IS NULL OR claimed_until_us <= $3) ORDER BY id LIMIT $4 \
             FOR UPDATE SKIP LOCKED) due WHERE o.id = due.id \
             RETURNING o.id, o.payload, o.attempts",
        )
        .bind(relay)
        .bind(micros(add(now, lease)))
        .bind(micros(now))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("claiming outbox rows", e))?;
        rows.sort_by_key(|r| r.id);
        rows.into_iter()
            .map(|r| {
                Ok(OutboxEntry {
                    id: r.id,
                    event: AuditEvent::from_json(&r.payload)?,
                    attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
                })
            })
            .collect()
    }

    async fn complete(&self, relay: &str, ids: &[i64]) -> Result<u64> {
        let mut done = 0;
        for ids in ids.chunks(500) {
            let mut qb =
                QueryBuilder::<Postgres>::new("DELETE FROM audit_outbox WHERE claimed_by = ");
            qb.push_bind(relay.to_owned()).push(" AND id IN (");
            push_ids(&mut qb, ids);
            done += qb
                .build()
                .execute(&self.pool)
                .await
                .map_err(|e| db_error("completing outbox rows", e))?
                .rows_affected();
        }
        Ok(done)
    }

    async fn retry_at(&self, relay: &str, ids: &[i64], at: Timestamp, error: &str) -> Result<()> {
        for ids in ids.chunks(500) {
            let mut qb = QueryBuilder::<Postgres>::new(
                "UPDATE audit_outbox SET claimed_by = NULL, claimed_until_us = NULL, next_attempt_us = ",
            );
            qb.push_bind(micros(at))
                .push(", last_error = ")
                .push_bind(error_excerpt(error));
            qb.push(" WHERE claimed_by = ")
                .push_bind(relay.to_owned())
                .push(" AND id IN (");
            push_ids(&mut qb, ids);
            qb.build()
                .execute(&self.pool)
                .await
                .map_err(|e| db_error("rescheduling outbox rows", e))?;
        }
        Ok(())
    }

    async fn backlog(&self) -> Result<Backlog> {
        let (pending, oldest): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), MIN(created_us) FROM audit_outbox")
                .fetch_one(&self.pool)
                .await
                .map_err(|e| db_error("reading the outbox backlog", e))?;
        Ok(Backlog {
            pending: u64::try_from(pending).unwrap_or(0),
            oldest: oldest.map(from_micros).transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::PostgresOutbox;
    use crate::outbox::tests::{self as suite, EnqueueFn};
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
