//! The SQLite backend: everything but connecting and `redact` is shared with PostgreSQL in
//! `sql.rs`.

use crate::error::Result;
use crate::store::sql::{MIGRATIONS_TABLE, map_sqlx, seq_to_sql, sql_consent_store, storage};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::path::Path;
use std::str::FromStr;

/// Drops one record's payload; SQLite binds no arrays, so `redact` runs it once per seq.
const REDACT: &str = "UPDATE consent_records SET payload = NULL \
    WHERE chain = $1 AND seq = $2 AND payload IS NOT NULL";

/// A [`ConsentStore`](crate::ConsentStore) in a SQLite database (feature `sqlite`).
///
/// Tables are created by embedded migrations when the store is built; their bookkeeping lives in
/// `_strongroom_consent_migrations`, so the database can be shared with other crates.
#[derive(Debug, Clone)]
pub struct SqliteConsentStore {
    pool: SqlitePool,
}

impl SqliteConsentStore {
    /// Open (creating if missing) the database file at `path`, in WAL mode, and migrate it.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        Self::with_options(options).await
    }

    /// Connect with a `sqlite:` URL (e.g. `sqlite://consent.db?mode=rwc`) and migrate.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::with_options(SqliteConnectOptions::from_str(url).map_err(storage)?).await
    }

    async fn with_options(options: SqliteConnectOptions) -> Result<Self> {
        let pool = SqlitePoolOptions::new()
            .connect_with(options)
            .await
            .map_err(storage)?;
        Self::with_pool(pool).await
    }

    /// Use an existing pool (shared with the rest of the application) and migrate.
    pub async fn with_pool(pool: SqlitePool) -> Result<Self> {
        let mut migrator = sqlx::migrate!("./migrations/sqlite");
        migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
        migrator.run(&pool).await.map_err(storage)?;
        Ok(Self { pool })
    }

    #[cfg(test)]
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

sql_consent_store!(SqliteConsentStore);

/// All of `seqs` in one transaction, so a failure drops none of the payloads.
async fn redact(pool: &SqlitePool, chain: &str, seqs: &[u64]) -> Result<u64> {
    let mut tx = pool.begin().await.map_err(storage)?;
    let mut dropped = 0;
    for &seq in seqs {
        dropped += sqlx::query(REDACT)
            .bind(chain)
            .bind(seq_to_sql(seq))
            .execute(&mut *tx)
            .await
            .map_err(|e| map_sqlx(e, chain, seq))?
            .rows_affected();
    }
    tx.commit().await.map_err(storage)?;
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance;
    use crate::store::sql::tests as sql;
    use std::sync::Arc;

    async fn store() -> (SqliteConsentStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteConsentStore::open(dir.path().join("consent.db"))
            .await
            .expect("open");
        (store, dir)
    }

    #[tokio::test]
    async fn conformance() {
        let (store, _dir) = store().await;
        conformance::run_all(Arc::new(store)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn spawned_grants_form_one_chain() {
        let (store, _dir) = store().await;
        conformance::spawned_grants_form_one_chain(Arc::new(store)).await;
    }

    #[tokio::test]
    async fn verify_names_first_broken_record() {
        let (store, _dir) = store().await;
        let raw = sql::raw(store.pool().clone());
        sql::verify_names_first_broken_record(
            Arc::new(store),
            "DROP TRIGGER consent_records_redact_only",
            raw,
        )
        .await;
    }

    #[tokio::test]
    async fn rows_refuse_edits_and_deletes() {
        let (store, _dir) = store().await;
        let raw = sql::raw(store.pool().clone());
        sql::rows_refuse_edits_and_deletes(&store, raw).await;
    }

    #[tokio::test]
    async fn reopening_keeps_data_and_migrations_are_idempotent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("consent.db");
        let first = SqliteConsentStore::open(&path).await.expect("open");
        let url = format!("sqlite://{}", path.display());
        sql::reopening_keeps_data(first, async || {
            SqliteConsentStore::connect(&url).await.expect("reopen")
        })
        .await;
    }
}
