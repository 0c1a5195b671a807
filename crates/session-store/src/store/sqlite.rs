//! The SQLite backend.

use std::fmt;
use std::path::Path;
use std::str::FromStr as _;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::clock::to_millis;
use crate::error::{Error, Result, StorageError};
use crate::model::Rotation;
use crate::store::sql::{db_error, migrate_error, sql_session_store};

/// A [`SessionStore`](crate::SessionStore) in a SQLite database (feature `sqlite`).
///
/// For one process (a single-node server or a desktop app). Rotation races are decided by
/// SQLite's single writer: each write transaction starts with `BEGIN IMMEDIATE`.
pub struct SqliteSessionStore {
    pool: SqlitePool,
}

impl fmt::Debug for SqliteSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteSessionStore")
            .field("connections", &self.pool.size())
            .finish()
    }
}

impl SqliteSessionStore {
    /// Opens (creating if needed) the database file at `path` in WAL mode and migrates it.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|e| Error::Storage(StorageError::new(e)))?;
        Self::from_pool(pool).await
    }

    /// Connects with a `sqlite:` URL (for example `sqlite://sessions.db?mode=rwc`) and migrates.
    pub async fn connect(url: &str) -> Result<Self> {
        let invalid = || Error::input("url", "not a valid sqlite: URL");
        if !url.starts_with("sqlite:") {
            return Err(invalid());
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|_| invalid())?
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePool::connect_with(options)
            .await
            .map_err(|e| Error::Storage(StorageError::new(e)))?;
        Self::from_pool(pool).await
    }

    /// Uses an existing pool and applies this crate's migrations to it.
    pub async fn from_pool(pool: SqlitePool) -> Result<Self> {
        // Recorded apart from sqlx's default table, so that the application's own migrations
        // and the other Strongroom crates can share this database.
        let mut migrator = sqlx::migrate!("./migrations/sqlite");
        migrator.dangerous_set_table_name("_strongroom_session_migrations");
        migrator.run(&pool).await.map_err(migrate_error)?;
        Ok(Self { pool })
    }

    /// The underlying pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

sql_session_store!(SqliteSessionStore, sqlx::Sqlite, "BEGIN IMMEDIATE");

/// The conditional update that decides a rotation race: only one transaction can move the
/// token out of `active`; the others see zero rows affected.
const ROTATE_PREVIOUS: &str = "UPDATE refresh_tokens SET state = 'rotated', rotated_at = $1, successor_hash = $2, successor_sealed = $3 WHERE hash = $4 AND session_id = $5 AND state = 'active'";
const TOUCH_SESSION: &str = "UPDATE sessions SET last_used_at = $1, idle_expires_at = $2, ip = COALESCE($3, ip), user_agent = COALESCE($4, user_agent) WHERE id = $5 AND revoked_at IS NULL";

/// Rotation as one `BEGIN IMMEDIATE` transaction: SQLite has a single writer, so the
/// conditional `UPDATE … WHERE state = 'active'` of a second rotation runs only after the first
/// committed, and affects no row.
async fn rotate(pool: &SqlitePool, rotation: &Rotation) -> Result<()> {
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(db_error("refresh token"))?;
    let rotated = sqlx::query(ROTATE_PREVIOUS)
        .bind(to_millis(rotation.at))
        .bind(rotation.next.hash.as_bytes().as_slice())
        .bind(rotation.sealed_next.as_bytes().as_slice())
        .bind(rotation.previous.as_bytes().as_slice())
        .bind(rotation.session_id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_error("refresh token"))?;
    if rotated.rows_affected() != 1 {
        return Err(Error::Conflict); // dropping `tx` rolls back
    }
    insert_token(&mut tx, &rotation.next).await?;
    let touched = sqlx::query(TOUCH_SESSION)
        .bind(to_millis(rotation.at))
        .bind(to_millis(rotation.idle_expires_at))
        .bind(rotation.ip.map(|ip| ip.to_string()))
        .bind(&rotation.user_agent)
        .bind(rotation.session_id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_error("session"))?;
    if touched.rows_affected() != 1 {
        drop(tx);
        return Err(session_inactive(pool, &rotation.session_id).await);
    }
    tx.commit().await.map_err(db_error("refresh token"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::SqliteSessionStore;
    use crate::store::DynSessionStore;
    use crate::{Error, SessionStore as _, conformance};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn conformance() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteSessionStore::open(dir.path().join("sessions.db"))
            .await
            .expect("open");
        let store: Arc<DynSessionStore> = Arc::new(store);
        conformance::run_all(&store).await;
    }

    #[tokio::test]
    async fn reopening_keeps_data_and_migrations_are_idempotent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sessions.db");
        let store = SqliteSessionStore::open(&path).await.expect("open");
        let url = format!("sqlite://{}", path.display());
        let again = SqliteSessionStore::connect(&url).await.expect("reopen");
        let missing = again.session(&crate::SessionId::generate()).await;
        assert!(matches!(missing, Err(Error::NotFound { .. })));
        drop(store);
        assert!(matches!(
            SqliteSessionStore::connect("postgres://nope").await,
            Err(Error::InvalidInput { .. })
        ));
    }
}
