//! The PostgreSQL policy store.

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use super::sql::{db_error, migrate_error, sql_policy_store};
use crate::error::Result;

/// A [`PolicyStore`](crate::PolicyStore) in PostgreSQL (feature `postgres`). Links are rows;
/// every write bumps the version row in the same transaction, so a reloader polling
/// [`PolicyStore::version`](crate::PolicyStore::version) sees each committed change.
pub struct PostgresPolicyStore {
    pool: PgPool,
}

impl std::fmt::Debug for PostgresPolicyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print connect options: they may carry a password.
        f.debug_struct("PostgresPolicyStore")
            .field("connections", &self.pool.size())
            .finish()
    }
}

impl PostgresPolicyStore {
    /// Connects to `url` and migrates.
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect(url)
            .await
            .map_err(db_error)?;
        Self::from_pool(pool).await
    }

    /// Uses an existing pool and migrates it (in the pool's `search_path` schema).
    pub async fn from_pool(pool: PgPool) -> Result<Self> {
        // Recorded apart from sqlx's default table, so that the application's own migrations
        // and the other Strongroom crates can share this database.
        let mut migrator = sqlx::migrate!("./migrations/postgres");
        migrator.dangerous_set_table_name("_strongroom_policy_migrations");
        migrator.run(&pool).await.map_err(migrate_error)?;
        Ok(Self { pool })
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

sql_policy_store!(
    PostgresPolicyStore,
    sqlx::Postgres,
    "$1",
    "$2",
    "$3",
    "$4",
    "$5"
);

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;
    use std::sync::Arc;

    use rand::RngCore as _;
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

    use super::PostgresPolicyStore;
    use crate::store::DynPolicyStore;

    const URL_VAR: &str = "STRONGROOM_TEST_POSTGRES_URL";
    const REQUIRE_VAR: &str = "STRONGROOM_TEST_REQUIRE_SERVICES";

    #[tokio::test]
    async fn conformance() {
        let Ok(url) = std::env::var(URL_VAR) else {
            assert!(
                std::env::var(REQUIRE_VAR).as_deref() != Ok("1"),
                "{REQUIRE_VAR}=1 but {URL_VAR} is not set"
            );
            eprintln!("note: {URL_VAR} not set; skipping the PostgreSQL policy store test");
            return;
        };
        let mut suffix = [0u8; 8];
        rand::rng().fill_bytes(&mut suffix);
        let schema = format!("access_policy_test_{}", hex::encode(suffix));
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
            .max_connections(4)
            .connect_with(options)
            .await
            .expect("connect to the test schema");
        let store = PostgresPolicyStore::from_pool(pool).await.expect("migrate");
        crate::conformance::run_all(&store).await;
        let shared: Arc<DynPolicyStore> = Arc::new(store);
        crate::conformance::run_all(&shared).await;
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
            .execute(&admin)
            .await
            .expect("drop test schema");
    }
}
