use std::str::FromStr;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use uuid::Uuid;

use super::sql::{
    HEAD, HeadRow, MIGRATIONS_TABLE, db_error, migrate_error, parse_ids, push_existing_ids,
};
use crate::{ChainHead, ChainId, Error, Result};

/// An [`AuditStore`](crate::AuditStore) in a SQLite database (feature `sqlite`).
///
/// Appends take SQLite's write lock up front (`BEGIN IMMEDIATE`), so writers in several processes
/// sharing the file are serialized by SQLite itself.
#[derive(Debug, Clone)]
pub struct SqliteAuditStore {
    pool: SqlitePool,
}

/// Runs this crate's SQLite migrations (audit log and outbox tables) on `pool`.
pub(crate) async fn migrate_sqlite(pool: &SqlitePool) -> Result<()> {
    let mut migrator = sqlx::migrate!("./migrations/sqlite");
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    migrator.run(pool).await.map_err(migrate_error)
}

/// Opens (creating if missing) a SQLite database file in WAL mode, the settings both the store and
/// the outbox want.
pub(crate) async fn open_sqlite(path: &str) -> Result<SqlitePool> {
    if path.is_empty() {
        return Err(Error::invalid("database path", "must not be empty"));
    }
    let url = if path.starts_with("sqlite:") {
        path.to_owned()
    } else {
        format!("sqlite://{path}")
    };
    let options = SqliteConnectOptions::from_str(&url)
        .map_err(|e| Error::invalid("database path", e.to_string()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(std::time::Duration::from_secs(30));
    SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .map_err(|e| db_error("opening the SQLite database", e))
}

impl SqliteAuditStore {
    /// Opens (creating if missing) the database file at `path` and runs migrations.
    pub async fn open(path: &str) -> Result<SqliteAuditStore> {
        SqliteAuditStore::new(open_sqlite(path).await?).await
    }

    /// Uses an existing pool (its own file, or the application's) and runs migrations. The
    /// migrations are recorded in `_strongroom_audit_migrations`, apart from the application's.
    pub async fn new(pool: SqlitePool) -> Result<SqliteAuditStore> {
        migrate_sqlite(&pool).await?;
        Ok(SqliteAuditStore { pool })
    }

    /// The pool, for sharing with [`SqliteOutbox`](crate::SqliteOutbox) or the application.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

super::sql::sql_audit_store!(SqliteAuditStore, Sqlite, "BEGIN IMMEDIATE");

/// The head. `BEGIN IMMEDIATE` already holds SQLite's write lock, so reading it is enough.
async fn lock_head(conn: &mut SqliteConnection, chain: &ChainId) -> Result<ChainHead> {
    let row: Option<HeadRow> = sqlx::query_as(HEAD)
        .bind(chain.as_str())
        .fetch_optional(&mut *conn)
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

/// Which of `ids` (at most [`INSERT_CHUNK`](super::sql::INSERT_CHUNK)) the chain holds.
async fn existing_ids(
    conn: &mut SqliteConnection,
    chain: &ChainId,
    ids: &[Uuid],
) -> Result<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = QueryBuilder::<Sqlite>::new("");
    push_existing_ids(&mut qb, chain, ids);
    let rows: Vec<(String,)> = qb
        .build_query_as()
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| db_error("looking up event ids", e))?;
    parse_ids(rows.into_iter().map(|(id,)| id).collect())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::SqliteAuditStore;
    use crate::{AuditStore, conformance};

    async fn store(dir: &tempfile::TempDir) -> SqliteAuditStore {
        SqliteAuditStore::open(dir.path().join("audit.db").to_str().unwrap())
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn conformance_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        conformance::run_all(Arc::new(store(&dir).await)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_stores_on_one_file_cannot_fork_a_chain() {
        // Two pools on one file behave like two processes.
        let dir = tempfile::tempdir().unwrap();
        let a = store(&dir).await;
        let b = store(&dir).await;
        conformance::concurrent_writers_across_stores(Arc::new(a), Arc::new(b)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tampering_with_the_database_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(store(&dir).await);
        conformance::tampering_is_detected(store.clone(), store).await;
    }

    #[tokio::test]
    async fn reopening_keeps_the_chain_and_bad_paths_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let chain = crate::ChainId::new("reopen").unwrap();
        let head = {
            let store = Arc::new(store(&dir).await);
            let log = crate::AuditLog::builder(
                store,
                chain.clone(),
                crate::CheckpointSigner::from_seed(&[3; 32]),
            )
            .build();
            log.append(
                crate::AuditEvent::builder(
                    crate::Actor::Anonymous,
                    "a.b",
                    crate::Resource::new("x", "1").unwrap(),
                )
                .build()
                .unwrap(),
            )
            .await
            .unwrap()
            .as_head()
        };
        assert_eq!(store(&dir).await.head(&chain).await.unwrap(), head);
        assert!(matches!(
            SqliteAuditStore::open("").await,
            Err(crate::Error::Invalid { .. })
        ));
        let missing_dir = dir.path().join("no/such/dir/a.db");
        assert!(matches!(
            SqliteAuditStore::open(missing_dir.to_str().unwrap()).await,
            Err(crate::Error::Unavailable { .. })
        ));
    }
}
