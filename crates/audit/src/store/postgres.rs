use sqlx::postgres::PgPool;
use sqlx::{PgConnection, Postgres};
use uuid::Uuid;

use super::sql::{HeadRow, MIGRATIONS_TABLE, db_error, migrate_error, parse_ids};
use crate::{ChainHead, ChainId, Result};

/// An [`AuditStore`](crate::AuditStore) in PostgreSQL (feature `postgres`).
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

super::sql::sql_audit_store!(PostgresAuditStore, Postgres, "BEGIN");

/// Creates the chain's head row if needed and locks it until the transaction ends, so writers on
/// any number of servers are serialized per chain.
async fn lock_head(conn: &mut PgConnection, chain: &ChainId) -> Result<ChainHead> {
    let err = |e| db_error("locking the chain head", e);
    sqlx::query(
        "INSERT INTO audit_chains (chain, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (chain) DO NOTHING",
    )
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tampering_with_the_database_is_detected() {
        let Some(pool) = schema_pool("tamper").await else {
            return;
        };
        let store = Arc::new(PostgresAuditStore::new(pool).await.unwrap());
        conformance::tampering_is_detected(store.clone(), store).await;
    }
}
