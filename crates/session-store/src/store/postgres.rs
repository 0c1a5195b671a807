//! The PostgreSQL backend.

use std::fmt;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::error::{Error, Result, StorageError};
use crate::store::sql::{migrate_error, sql_session_store};

/// A [`SessionStore`](crate::SessionStore) in PostgreSQL (feature `postgres`), for servers
/// running several instances.
///
/// Rotation races are decided by a conditional `UPDATE … WHERE state = 'active'` inside a
/// transaction: the row lock serialises concurrent rotations of one token and all but the first
/// see zero rows affected. Runs at the default `READ COMMITTED` isolation.
pub struct PostgresSessionStore {
    pool: PgPool,
}

impl fmt::Debug for PostgresSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print connect options: they may carry a password.
        f.debug_struct("PostgresSessionStore")
            .field("connections", &self.pool.size())
            .finish()
    }
}

impl PostgresSessionStore {
    /// Connects to `url` (`postgres://user:pass@host/db`) and migrates.
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await
            .map_err(|e| Error::Storage(StorageError::new(e)))?;
        Self::from_pool(pool).await
    }

    /// Uses an existing pool and applies this crate's migrations to it (in the pool's
    /// `search_path` schema).
    pub async fn from_pool(pool: PgPool) -> Result<Self> {
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(migrate_error)?;
        Ok(Self { pool })
    }

    /// The underlying pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

sql_session_store!(PostgresSessionStore, sqlx::Postgres, "BEGIN");

#[cfg(test)]
pub(crate) mod tests {
    use std::str::FromStr as _;
    use std::sync::Arc;

    use rand::RngCore as _;
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

    use super::PostgresSessionStore;
    use crate::conformance;
    use crate::store::DynSessionStore;

    const URL_VAR: &str = "STRONGROOM_TEST_POSTGRES_URL";
    const REQUIRE_VAR: &str = "STRONGROOM_TEST_REQUIRE_SERVICES";

    /// A store in a fresh schema of the test database, or `None` (with a note) when no database
    /// is configured and services are not required. Under `STRONGROOM_TEST_REQUIRE_SERVICES=1`
    /// a missing or unreachable database fails the test.
    pub(crate) async fn isolated_store() -> Option<(PostgresSessionStore, String)> {
        let Ok(url) = std::env::var(URL_VAR) else {
            assert!(
                std::env::var(REQUIRE_VAR).as_deref() != Ok("1"),
                "{REQUIRE_VAR}=1 but {URL_VAR} is not set"
            );
            eprintln!("note: {URL_VAR} not set; skipping the PostgreSQL backend test");
            return None;
        };
        let mut suffix = [0u8; 8];
        rand::rng().fill_bytes(&mut suffix);
        let schema = format!("session_store_test_{}", hex::encode(suffix));
        let admin = sqlx::PgPool::connect(&url)
            .await
            .expect("PostgreSQL is reachable");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&admin)
            .await
            .expect("create test schema");
        let options = PgConnectOptions::from_str(&url)
            .expect("valid URL")
            .options([("search_path", schema.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(24)
            .connect_with(options)
            .await
            .expect("connect to test schema");
        let store = PostgresSessionStore::from_pool(pool)
            .await
            .expect("migrate");
        Some((store, schema))
    }

    pub(crate) async fn drop_schema(store: &PostgresSessionStore, schema: &str) {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
            .execute(store.pool())
            .await
            .expect("drop test schema");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn conformance() {
        let Some((store, schema)) = isolated_store().await else {
            return;
        };
        let store = Arc::new(store);
        let dyn_store: Arc<DynSessionStore> = store.clone();
        conformance::run_all(&dyn_store).await;
        drop_schema(&store, &schema).await;
    }
}
