//! The PostgreSQL backend.

use std::fmt;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::clock::to_millis;
use crate::error::{Error, Result, StorageError};
use crate::model::Rotation;
use crate::store::sql::{db_error, migrate_error, sql_session_store};

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
        // Recorded apart from sqlx's default table, so that the application's own migrations
        // and the other Strongroom crates can share this database.
        let mut migrator = sqlx::migrate!("./migrations/postgres");
        migrator.dangerous_set_table_name("_strongroom_session_migrations");
        migrator.run(&pool).await.map_err(migrate_error)?;
        Ok(Self { pool })
    }

    /// The underlying pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

sql_session_store!(PostgresSessionStore, sqlx::Postgres, "BEGIN");

/// Rotation in one statement, hence one round trip and one implicit transaction: mark the
/// previous token rotated only if it is still active and its session is not revoked, then
/// touch the session and insert the successor only if that happened. Under concurrent
/// rotations the row lock on the previous token serialises them; PostgreSQL re-checks
/// `state = 'active'` after the lock is released, so all but the first insert nothing.
const ROTATE: &str = "WITH previous AS (
    UPDATE refresh_tokens
       SET state = 'rotated', rotated_at = $1, successor_hash = $2, successor_sealed = $3
     WHERE hash = $4 AND session_id = $5 AND state = 'active'
       AND EXISTS (SELECT 1 FROM sessions WHERE id = $5 AND revoked_at IS NULL)
    RETURNING session_id
), touched AS (
    UPDATE sessions
       SET last_used_at = $1, idle_expires_at = $6, ip = COALESCE($7, ip),
           user_agent = COALESCE($8, user_agent)
     WHERE id IN (SELECT session_id FROM previous)
    RETURNING id
)
INSERT INTO refresh_tokens (hash, session_id, generation, state, issued_at)
SELECT $2, id, $9, 'active', $1 FROM touched";

const TOKEN_STATE: &str = "SELECT state, session_id FROM refresh_tokens WHERE hash = $1";

async fn rotate(pool: &PgPool, rotation: &Rotation) -> Result<()> {
    let generation = i64::try_from(rotation.next.generation)
        .map_err(|_| Error::input("generation", "out of range"))?;
    let inserted = sqlx::query(ROTATE)
        .bind(to_millis(rotation.at))
        .bind(rotation.next.hash.as_bytes().as_slice())
        .bind(rotation.sealed_next.as_bytes().as_slice())
        .bind(rotation.previous.as_bytes().as_slice())
        .bind(rotation.session_id.as_str())
        .bind(to_millis(rotation.idle_expires_at))
        .bind(rotation.ip.map(|ip| ip.to_string()))
        .bind(&rotation.user_agent)
        .bind(generation)
        .execute(pool)
        .await
        .map_err(db_error("refresh token"))?;
    if inserted.rows_affected() == 1 {
        return Ok(());
    }
    // Nothing changed; say why, token first (as the other backends do).
    let token: Option<(String, String)> = sqlx::query_as(TOKEN_STATE)
        .bind(rotation.previous.as_bytes().as_slice())
        .fetch_optional(pool)
        .await
        .map_err(db_error("refresh token"))?;
    match token {
        Some((state, session)) if state == "active" && session == rotation.session_id.as_str() => {
            Err(session_inactive(pool, &rotation.session_id).await)
        }
        _ => Err(Error::Conflict),
    }
}

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
