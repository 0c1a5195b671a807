//! The SQLite policy store.

use std::str::FromStr;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use super::sql::{db_error, migrate_error, sql_policy_store};
use crate::error::{Error, Result};

/// A [`PolicyStore`](crate::PolicyStore) in SQLite (feature `sqlite`). Links are rows.
#[derive(Debug, Clone)]
pub struct SqlitePolicyStore {
    pool: SqlitePool,
}

impl SqlitePolicyStore {
    /// Opens (creating if missing) a database file and migrates.
    pub async fn open(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path.as_ref())
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(db_error)?;
        Self::from_pool(pool).await
    }

    /// Connects with a `sqlite:` URL and migrates.
    pub async fn connect(url: &str) -> Result<Self> {
        if !url.starts_with("sqlite:") {
            return Err(Error::InvalidInput("not a sqlite: URL".into()));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| Error::InvalidInput(format!("not a sqlite: URL: {e}")))?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(db_error)?;
        Self::from_pool(pool).await
    }

    /// Uses an existing pool and migrates it.
    pub async fn from_pool(pool: SqlitePool) -> Result<Self> {
        // Recorded apart from sqlx's default table, so that the application's own migrations
        // and the other Strongroom crates can share this database.
        let mut migrator = sqlx::migrate!("./migrations/sqlite");
        migrator.dangerous_set_table_name("_strongroom_policy_migrations");
        migrator.run(&pool).await.map_err(migrate_error)?;
        Ok(Self { pool })
    }
}

sql_policy_store!(
    SqlitePolicyStore,
    sqlx::Sqlite,
    "?1",
    "?2",
    "?3",
    "?4",
    "?5"
);

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::DynPolicyStore;

    #[tokio::test]
    async fn conformance() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqlitePolicyStore::open(dir.path().join("p.db"))
            .await
            .unwrap();
        crate::conformance::run_all(&store).await;
        let shared: Arc<DynPolicyStore> = Arc::new(store);
        crate::conformance::run_all(&shared).await;
    }

    #[tokio::test]
    async fn bad_urls_are_refused() {
        assert!(matches!(
            SqlitePolicyStore::connect("postgres://x").await,
            Err(Error::InvalidInput(_))
        ));
    }
}
