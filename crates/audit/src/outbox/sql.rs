//! What the SQLite and PostgreSQL outboxes share: the SQL (`$N` placeholders run on both), the
//! row type, and one implementation stamped out per backend by `sql_outbox!`. What stays in each
//! backend is how rows are claimed: one `UPDATE` on SQLite (a single writer), `FOR UPDATE SKIP
//! LOCKED` on PostgreSQL so that concurrent relays take different rows.

use jiff::Timestamp;
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::OutboxEntry;
use crate::{AuditEvent, Result};

/// Ids per `IN (...)` list when completing or rescheduling rows.
pub(crate) const ID_CHUNK: usize = 500;

pub(crate) const ENQUEUE: &str = "INSERT INTO audit_outbox (event_id, payload, created_us, next_attempt_us) VALUES ($1, $2, $3, $4)";
pub(crate) const BACKLOG: &str = "SELECT COUNT(*), MIN(created_us) FROM audit_outbox";

/// A claimed row, as `RETURNING id, payload, attempts` gives it (attempts as BIGINT).
#[derive(sqlx::FromRow)]
pub(crate) struct EntryRow {
    id: i64,
    payload: String,
    attempts: i64,
}

/// Claimed rows as entries, oldest first.
pub(crate) fn into_entries(mut rows: Vec<EntryRow>) -> Result<Vec<OutboxEntry>> {
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

/// Appends `DELETE ... WHERE claimed_by = relay AND id IN (ids)`.
pub(crate) fn push_complete<DB>(qb: &mut QueryBuilder<DB>, relay: &str, ids: &[i64])
where
    DB: Database,
    for<'a> String: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
{
    qb.push("DELETE FROM audit_outbox WHERE claimed_by = ");
    qb.push_bind(relay.to_owned()).push(" AND id IN (");
    push_ids(qb, ids);
}

/// Appends the `UPDATE` that releases rows claimed by `relay`, due again at `at`.
pub(crate) fn push_retry<DB>(
    qb: &mut QueryBuilder<DB>,
    relay: &str,
    ids: &[i64],
    at: Timestamp,
    error: &str,
) where
    DB: Database,
    for<'a> String: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
{
    qb.push(
        "UPDATE audit_outbox SET claimed_by = NULL, claimed_until_us = NULL, next_attempt_us = ",
    );
    qb.push_bind(at.as_microsecond())
        .push(", last_error = ")
        .push_bind(super::error_excerpt(error));
    qb.push(" WHERE claimed_by = ")
        .push_bind(relay.to_owned())
        .push(" AND id IN (");
    push_ids(qb, ids);
}

fn push_ids<DB>(qb: &mut QueryBuilder<DB>, ids: &[i64])
where
    DB: Database,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
{
    let mut list = qb.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    qb.push(")");
}

/// Implements the outbox for `$outbox` (fields `pool: sqlx::Pool<$db>` and `clock: Arc<dyn
/// Clock>`): the inherent `with_clock`, `enqueue` (on `&mut $conn`), `pending`, `lag`, and
/// [`Outbox`](crate::Outbox) with the invoking module's
/// `async fn claim_rows(pool: &sqlx::Pool<$db>, relay: &str, now: Timestamp, lease: Duration,
/// limit: usize) -> Result<Vec<EntryRow>>`.
macro_rules! sql_outbox {
    ($outbox:ident, $db:ty, $conn:ty) => {
        impl $outbox {
            /// Replaces the clock stamped on enqueued rows.
            #[must_use]
            pub fn with_clock(mut self, clock: std::sync::Arc<dyn $crate::Clock>) -> $outbox {
                self.clock = clock;
                self
            }

            /// Adds `event` to the outbox on `conn`, typically `&mut tx` of the caller's open
            /// transaction: it is published if and only if that transaction commits. An event id
            /// already waiting gives [`Error::DuplicateEvent`](crate::Error::DuplicateEvent).
            pub async fn enqueue(
                &self,
                conn: &mut $conn,
                event: &$crate::AuditEvent,
            ) -> $crate::Result<()> {
                use $crate::store::sql::{db_error, is_unique_violation};
                let now = self.clock.now().as_microsecond();
                sqlx::query($crate::outbox::sql::ENQUEUE)
                    .bind(event.id().to_string())
                    .bind(event.to_json())
                    .bind(now)
                    .bind(now)
                    .execute(conn)
                    .await
                    .map_err(|e| {
                        if is_unique_violation(&e) {
                            $crate::Error::DuplicateEvent { id: event.id() }
                        } else {
                            db_error("enqueueing an event", e)
                        }
                    })?;
                Ok(())
            }

            /// Events waiting to be published.
            pub async fn pending(&self) -> $crate::Result<u64> {
                Ok($crate::Outbox::backlog(self).await?.pending)
            }

            /// How long the oldest waiting event has waited.
            pub async fn lag(&self) -> $crate::Result<std::time::Duration> {
                Ok($crate::Outbox::backlog(self).await?.lag(self.clock.now()))
            }
        }

        #[async_trait::async_trait]
        impl $crate::Outbox for $outbox {
            async fn claim(
                &self,
                relay: &str,
                now: jiff::Timestamp,
                lease: std::time::Duration,
                limit: usize,
            ) -> $crate::Result<Vec<$crate::OutboxEntry>> {
                $crate::outbox::check_claim(relay, limit, lease)?;
                let rows = claim_rows(&self.pool, relay, now, lease, limit).await?;
                $crate::outbox::sql::into_entries(rows)
            }

            async fn complete(&self, relay: &str, ids: &[i64]) -> $crate::Result<u64> {
                use $crate::outbox::sql::*;
                let mut done = 0;
                for ids in ids.chunks(ID_CHUNK) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new("");
                    push_complete(&mut qb, relay, ids);
                    done += qb
                        .build()
                        .execute(&self.pool)
                        .await
                        .map_err(|e| $crate::store::sql::db_error("completing outbox rows", e))?
                        .rows_affected();
                }
                Ok(done)
            }

            async fn retry_at(
                &self,
                relay: &str,
                ids: &[i64],
                at: jiff::Timestamp,
                error: &str,
            ) -> $crate::Result<()> {
                use $crate::outbox::sql::*;
                for ids in ids.chunks(ID_CHUNK) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new("");
                    push_retry(&mut qb, relay, ids, at, error);
                    qb.build()
                        .execute(&self.pool)
                        .await
                        .map_err(|e| $crate::store::sql::db_error("rescheduling outbox rows", e))?;
                }
                Ok(())
            }

            async fn backlog(&self) -> $crate::Result<$crate::Backlog> {
                let (pending, oldest): (i64, Option<i64>) =
                    sqlx::query_as($crate::outbox::sql::BACKLOG)
                        .fetch_one(&self.pool)
                        .await
                        .map_err(|e| {
                            $crate::store::sql::db_error("reading the outbox backlog", e)
                        })?;
                Ok($crate::Backlog {
                    pending: u64::try_from(pending).unwrap_or(0),
                    oldest: oldest.map($crate::clock::from_micros).transpose()?,
                })
            }
        }
    };
}

pub(crate) use sql_outbox;
