use async_trait::async_trait;
use sqlx::postgres::PgPool;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::sql::{
    CheckpointRow, HeadRow, INSERT_CHUNK, MIGRATIONS_TABLE, RecordRow, checkpoint_binds, clamp_i64,
    db_error, is_unique_violation, migrate_error, parse_ids, push_insert, push_query, to_i64,
};
use super::{AuditStore, check_anchor, check_batch};
use crate::{
    AuditQuery, AuditRecord, ChainHead, ChainId, Checkpoint, CheckpointKind, Error, Result,
};

/// An [`AuditStore`] in PostgreSQL (feature `postgres`).
///
/// Appends lock the chain's head row (`SELECT ... FOR UPDATE`), so writers on any number of
/// servers are serialized per chain, and chains never block each other.
#[derive(Debug, Clone)]
pub struct PostgresAuditStore {
    pool: PgPool,
}

/// Runs this crate's PostgreSQL migrations (audit log and outbox tables) on `pool`.
pub(crate) async fn migrate_postgres(pool: &PgPool) -> Result<()> {
    let mut migrator = sqlx::migrate!("./migrations/postgres");
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    migrator.run(pool).await.map_err(migrate_error)
}

impl PostgresAuditStore {
    /// Connects to `url` and runs migrations.
    pub async fn connect(url: &str) -> Result<PostgresAuditStore> {
        let pool = PgPool::connect(url)
            .await
            .map_err(|e| db_error("connecting to PostgreSQL", e))?;
        PostgresAuditStore::new(pool).await
    }

    /// Uses an existing pool (the application's, typically) and runs migrations. The migrations
    /// are recorded in `_strongroom_audit_migrations`, apart from the application's.
    pub async fn new(pool: PgPool) -> Result<PostgresAuditStore> {
        migrate_postgres(&pool).await?;
        Ok(PostgresAuditStore { pool })
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

const HEAD: &str = "SELECT seq, hash FROM audit_chains WHERE chain = $1";
const SELECT_CHECKPOINT: &str =
    "SELECT chain, kind, seq, head, time_us, key_id, signature FROM audit_checkpoints";

/// Creates the chain's head row if needed and locks it until the transaction ends.
async fn lock_head(conn: &mut PgConnection, chain: &ChainId) -> Result<ChainHead> {
    let err = |e| db_error("locking the chain head", e);
    sqlx::query("INSERT INTO audit_chains (chain, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (chain) DO NOTHING")
        .bind(chain.as_str())
        .bind(chain.genesis().0.to_vec())
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    let row: HeadRow =
        sqlx::query_as("SELECT seq, hash FROM audit_chains WHERE chain = $1 FOR UPDATE")
            .bind(chain.as_str())
            .fetch_one(&mut *conn)
            .await
            .map_err(err)?;
    row.into_head()
}

/// Which of `ids` the chain holds. A join against `unnest` of one array parameter, rather than a
/// long `IN (...)` list: with fresh statistics (a new table) the planner would otherwise scan the
/// whole table once per lookup, testing every row against every id.
async fn existing_ids(conn: &mut PgConnection, chain: &ChainId, ids: &[Uuid]) -> Result<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let wanted: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT r.event_id FROM unnest($2::text[]) AS wanted(id) \
         JOIN audit_records r ON r.chain = $1 AND r.event_id = wanted.id",
    )
    .bind(chain.as_str())
    .bind(wanted)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| db_error("looking up event ids", e))?;
    parse_ids(rows.into_iter().map(|(id,)| id).collect())
}

#[async_trait]
impl AuditStore for PostgresAuditStore {
    async fn head(&self, chain: &ChainId) -> Result<ChainHead> {
        let row: Option<HeadRow> = sqlx::query_as(HEAD)
            .bind(chain.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error("reading the chain head", e))?;
        match row {
            Some(row) => row.into_head(),
            None => Ok(ChainHead {
                seq: 0,
                hash: chain.genesis(),
            }),
        }
    }

    async fn append(&self, chain: &ChainId, records: &[AuditRecord]) -> Result<()> {
        let err = |e| db_error("appending audit records", e);
        // Check the batch's own shape before taking any lock.
        if let Some(first) = records.first() {
            check_batch(
                chain,
                ChainHead {
                    seq: first.seq - 1,
                    hash: first.prev_hash,
                },
                records,
            )?;
        }
        let mut tx = self.pool.begin().await.map_err(err)?;
        let head = lock_head(&mut tx, chain).await?;
        check_batch(chain, head, records)?;
        let ids: Vec<Uuid> = records.iter().map(|r| r.event.id()).collect();
        if let Some(id) = existing_ids(&mut tx, chain, &ids).await?.into_iter().next() {
            return Err(Error::DuplicateEvent { id });
        }
        for chunk in records.chunks(INSERT_CHUNK) {
            let mut qb = QueryBuilder::<Postgres>::new("");
            push_insert(&mut qb, chain, chunk)?;
            qb.build().execute(&mut *tx).await.map_err(|e| {
                if is_unique_violation(&e) {
                    Error::Conflict {
                        chain: chain.to_string(),
                    }
                } else {
                    err(e)
                }
            })?;
        }
        let last = records[records.len() - 1].as_head();
        sqlx::query("UPDATE audit_chains SET seq = $2, hash = $3 WHERE chain = $1")
            .bind(chain.as_str())
            .bind(to_i64(last.seq)?)
            .bind(last.hash.0.to_vec())
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)
    }

    async fn read(&self, chain: &ChainId, from_seq: u64, limit: usize) -> Result<Vec<AuditRecord>> {
        let rows: Vec<RecordRow> = sqlx::query_as(
            "SELECT seq, event, prev_hash, hash FROM audit_records WHERE chain = $1 AND seq >= $2 ORDER BY seq LIMIT $3",
        )
        .bind(chain.as_str())
        .bind(clamp_i64(from_seq))
        .bind(clamp_i64(limit as u64))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("reading audit records", e))?;
        rows.into_iter().map(RecordRow::into_record).collect()
    }

    async fn query(&self, chain: &ChainId, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        query.validate()?;
        let mut qb = QueryBuilder::<Postgres>::new("");
        push_query(&mut qb, chain, query);
        let rows: Vec<RecordRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("querying audit records", e))?;
        rows.into_iter().map(RecordRow::into_record).collect()
    }

    async fn existing_ids(&self, chain: &ChainId, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| db_error("looking up event ids", e))?;
        existing_ids(&mut conn, chain, ids).await
    }

    async fn put_checkpoint(&self, checkpoint: &Checkpoint) -> Result<()> {
        if checkpoint.kind != CheckpointKind::Checkpoint {
            return Err(Error::invalid("checkpoint", "anchors are stored by prune"));
        }
        let (chain, kind, seq, head, time, key_id, signature) = checkpoint_binds(checkpoint)?;
        sqlx::query(
            "INSERT INTO audit_checkpoints (chain, kind, seq, head, time_us, key_id, signature) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (chain, kind, seq) DO UPDATE SET \
             head = excluded.head, time_us = excluded.time_us, key_id = excluded.key_id, signature = excluded.signature",
        )
        .bind(chain)
        .bind(kind)
        .bind(seq)
        .bind(head)
        .bind(time)
        .bind(key_id)
        .bind(signature)
        .execute(&self.pool)
        .await
        .map_err(|e| db_error("storing a checkpoint", e))?;
        Ok(())
    }

    async fn checkpoints(
        &self,
        chain: &ChainId,
        from_seq: u64,
        to_seq: u64,
    ) -> Result<Vec<Checkpoint>> {
        let rows: Vec<CheckpointRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT_CHECKPOINT} WHERE chain = $1 AND kind = 'checkpoint' AND seq >= $2 AND seq <= $3 ORDER BY seq"
        )))
        .bind(chain.as_str())
        .bind(clamp_i64(from_seq))
        .bind(clamp_i64(to_seq))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("reading checkpoints", e))?;
        rows.into_iter()
            .map(CheckpointRow::into_checkpoint)
            .collect()
    }

    async fn latest_checkpoint(&self, chain: &ChainId) -> Result<Option<Checkpoint>> {
        let row: Option<CheckpointRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT_CHECKPOINT} WHERE chain = $1 AND kind = 'checkpoint' ORDER BY seq DESC LIMIT 1"
        )))
        .bind(chain.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error("reading checkpoints", e))?;
        row.map(CheckpointRow::into_checkpoint).transpose()
    }

    async fn anchor(&self, chain: &ChainId) -> Result<Option<Checkpoint>> {
        let row: Option<CheckpointRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT_CHECKPOINT} WHERE chain = $1 AND kind = 'anchor' ORDER BY seq DESC LIMIT 1"
        )))
        .bind(chain.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error("reading the retention anchor", e))?;
        row.map(CheckpointRow::into_checkpoint).transpose()
    }

    async fn prune(&self, anchor: &Checkpoint) -> Result<u64> {
        let err = |e| db_error("pruning audit records", e);
        let chain = anchor.chain.as_str();
        let mut tx = self.pool.begin().await.map_err(err)?;
        let head = lock_head(&mut tx, &anchor.chain).await?;
        let current: Option<CheckpointRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT_CHECKPOINT} WHERE chain = $1 AND kind = 'anchor' ORDER BY seq DESC LIMIT 1"
        )))
        .bind(chain)
        .fetch_optional(&mut *tx)
        .await
        .map_err(err)?;
        let current = current.map(CheckpointRow::into_checkpoint).transpose()?;
        check_anchor(anchor, current.as_ref(), head)?;
        let seq = to_i64(anchor.seq)?;
        let deleted = sqlx::query("DELETE FROM audit_records WHERE chain = $1 AND seq <= $2")
            .bind(chain)
            .bind(seq)
            .execute(&mut *tx)
            .await
            .map_err(err)?
            .rows_affected();
        sqlx::query(
            "DELETE FROM audit_checkpoints WHERE chain = $1 AND (seq <= $2 OR kind = 'anchor')",
        )
        .bind(chain)
        .bind(seq)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        let (chain, kind, seq, head, time, key_id, signature) = checkpoint_binds(anchor)?;
        sqlx::query(
            "INSERT INTO audit_checkpoints (chain, kind, seq, head, time_us, key_id, signature) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(chain)
        .bind(kind)
        .bind(seq)
        .bind(head)
        .bind(time)
        .bind(key_id)
        .bind(signature)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::PostgresAuditStore;
    use crate::conformance;
    use crate::pg_test::schema_pool;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn conformance_postgres() {
        let Some(pool) = schema_pool("conformance").await else {
            return;
        };
        conformance::run_all(Arc::new(PostgresAuditStore::new(pool).await.unwrap())).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_pools_cannot_fork_a_chain() {
        let Some(pool) = schema_pool("fork").await else {
            return;
        };
        let a = PostgresAuditStore::new(pool.clone()).await.unwrap();
        // A second pool on the same schema, as a second server would have.
        let b = PostgresAuditStore::new(crate::pg_test::second_pool(&pool).await)
            .await
            .unwrap();
        conformance::concurrent_writers_across_stores(Arc::new(a), Arc::new(b)).await;
    }

    #[tokio::test]
    async fn editing_a_stored_event_is_caught_by_verify() {
        let Some(pool) = schema_pool("tamper").await else {
            return;
        };
        let store = PostgresAuditStore::new(pool.clone()).await.unwrap();
        conformance::tampering_in_place(Arc::new(store), |chain, seq, event_json| {
            let pool = pool.clone();
            Box::pin(async move {
                sqlx::query("UPDATE audit_records SET event = $1 WHERE chain = $2 AND seq = $3")
                    .bind(event_json)
                    .bind(chain)
                    .bind(seq as i64)
                    .execute(&pool)
                    .await
                    .unwrap();
            })
        })
        .await;
    }
}
