//! The PostgreSQL backend: everything but connecting and `redact` is shared with SQLite in
//! `sql.rs`.

use crate::error::Result;
use crate::store::sql::{MIGRATIONS_TABLE, map_sqlx, seq_to_sql, sql_consent_store, storage};
use sqlx::postgres::{PgPool, PgPoolOptions};

/// Drops the payloads of all the given seqs in one statement, binding them as an array.
const REDACT: &str = "UPDATE consent_records SET payload = NULL \
    WHERE chain = $1 AND seq = ANY($2) AND payload IS NOT NULL";

/// A [`ConsentStore`](crate::ConsentStore) in PostgreSQL (feature `postgres`).
///
/// Tables are created by embedded migrations when the store is built, in the connection's
/// `search_path` schema; their bookkeeping lives in `_strongroom_consent_migrations`, so the
/// schema can be shared with other crates. Concurrent appends to one chain are serialised by the
/// `(chain, seq)` primary key: the loser gets [`Error::Conflict`](crate::Error::Conflict).
#[derive(Debug, Clone)]
pub struct PostgresConsentStore {
    pool: PgPool,
}

impl PostgresConsentStore {
    /// Connect with a `postgres://` URL and migrate.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::with_pool(PgPoolOptions::new().connect(url).await.map_err(storage)?).await
    }

    /// Use an existing pool (shared with the rest of the application) and migrate.
    pub async fn with_pool(pool: PgPool) -> Result<Self> {
        let mut migrator = sqlx::migrate!("./migrations/postgres");
        migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
        migrator.run(&pool).await.map_err(storage)?;
        Ok(Self { pool })
    }

    #[cfg(test)]
    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }
}

sql_consent_store!(PostgresConsentStore);

async fn redact(pool: &PgPool, chain: &str, seqs: &[u64]) -> Result<u64> {
    let seqs: Vec<i64> = seqs.iter().map(|&s| seq_to_sql(s)).collect();
    let done = sqlx::query(REDACT)
        .bind(chain)
        .bind(&seqs)
        .execute(pool)
        .await
        .map_err(|e| map_sqlx(e, chain, 0))?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance;
    use crate::store::sql::tests as sql;
    use sqlx::postgres::PgConnectOptions;
    use std::str::FromStr;
    use std::sync::Arc;

    /// A store in a fresh schema of its own, so tests running in parallel (in this crate and
    /// others) never see each other's tables. `None` (with a note) when PostgreSQL is not
    /// configured and not required.
    async fn store() -> Option<(PostgresConsentStore, Schema)> {
        let Ok(url) = std::env::var("STRONGROOM_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var("STRONGROOM_TEST_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "STRONGROOM_TEST_POSTGRES_URL is unset but STRONGROOM_TEST_REQUIRE_SERVICES=1"
            );
            eprintln!("note: STRONGROOM_TEST_POSTGRES_URL is unset; skipping a PostgreSQL test");
            return None;
        };
        let name = format!("consent_test_{}", uuid::Uuid::new_v4().simple());
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .expect("PostgreSQL is configured but unreachable");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&admin)
            .await
            .expect("create schema");
        let options = PgConnectOptions::from_str(&url)
            .expect("url")
            .options([("search_path", name.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .expect("connect");
        let store = PostgresConsentStore::with_pool(pool)
            .await
            .expect("migrate");
        Some((store, Schema { admin, name }))
    }

    struct Schema {
        admin: PgPool,
        name: String,
    }

    impl Schema {
        async fn drop(self) {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA {} CASCADE",
                self.name
            )))
            .execute(&self.admin)
            .await
            .expect("drop schema");
        }
    }

    #[tokio::test]
    async fn conformance() {
        let Some((store, schema)) = store().await else {
            return;
        };
        conformance::run_all(Arc::new(store)).await;
        schema.drop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn spawned_grants_form_one_chain() {
        let Some((store, schema)) = store().await else {
            return;
        };
        conformance::spawned_grants_form_one_chain(Arc::new(store)).await;
        schema.drop().await;
    }

    #[tokio::test]
    async fn verify_names_first_broken_record() {
        let Some((store, schema)) = store().await else {
            return;
        };
        let raw = sql::raw(store.pool().clone());
        sql::verify_names_first_broken_record(
            Arc::new(store),
            "ALTER TABLE consent_records DISABLE TRIGGER consent_records_guard",
            raw,
        )
        .await;
        schema.drop().await;
    }

    #[tokio::test]
    async fn rows_refuse_edits_and_deletes() {
        let Some((store, schema)) = store().await else {
            return;
        };
        let raw = sql::raw(store.pool().clone());
        sql::rows_refuse_edits_and_deletes(&store, raw).await;
        schema.drop().await;
    }

    #[tokio::test]
    async fn reopening_keeps_data_and_migrations_are_idempotent() {
        let Some((first, schema)) = store().await else {
            return;
        };
        let options = first.pool().connect_options();
        sql::reopening_keeps_data(first, async || {
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .connect_with((*options).clone())
                .await
                .expect("reconnect");
            PostgresConsentStore::with_pool(pool).await.expect("reopen")
        })
        .await;
        schema.drop().await;
    }
}
