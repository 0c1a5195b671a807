use crate::error::{Result, StorageError};
use crate::record::ChainRecord;
use crate::store::{ConsentStore, SqlRecord, check_appendable, map_sqlx, seq_to_sql};
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::path::Path;
use std::str::FromStr;

const MIGRATIONS_TABLE: &str = "_strongroom_consent_migrations";

const APPEND: &str = "INSERT INTO consent_records \
    (chain, seq, recorded_at, kind, header, payload, payload_hash, prev_hash, hash) \
    SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 \
    WHERE ?2 = 1 OR EXISTS (SELECT 1 FROM consent_records \
        WHERE chain = ?1 AND seq = ?2 - 1 AND hash = ?8)";
const READ: &str = "SELECT chain, seq, recorded_at, kind, header, payload, payload_hash, \
    prev_hash, hash FROM consent_records WHERE chain = ?1 AND seq >= ?2 ORDER BY seq";
const HEAD: &str = "SELECT chain, seq, recorded_at, kind, header, payload, payload_hash, \
    prev_hash, hash FROM consent_records WHERE chain = ?1 ORDER BY seq DESC LIMIT 1";
const REDACT: &str = "UPDATE consent_records SET payload = NULL \
    WHERE chain = ?1 AND seq = ?2 AND payload IS NOT NULL";

/// A [`ConsentStore`] in a SQLite database (feature `sqlite`).
///
/// Tables are created by embedded migrations when the store is built; their bookkeeping lives in
/// `_strongroom_consent_migrations`, so the database can be shared with other crates.
#[derive(Debug, Clone)]
pub struct SqliteConsentStore {
    pool: SqlitePool,
}

#[derive(sqlx::FromRow)]
struct SqliteRow {
    chain: String,
    seq: i64,
    recorded_at: i64,
    kind: String,
    header: String,
    payload: Option<String>,
    payload_hash: String,
    prev_hash: String,
    hash: String,
}

impl From<SqliteRow> for SqlRecord {
    fn from(r: SqliteRow) -> Self {
        SqlRecord {
            chain: r.chain,
            seq: r.seq,
            recorded_at: r.recorded_at,
            kind: r.kind,
            header: r.header,
            payload: r.payload,
            payload_hash: r.payload_hash,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

fn storage(e: impl std::error::Error + Send + Sync + 'static) -> crate::Error {
    crate::Error::Storage(StorageError::new(e))
}

impl SqliteConsentStore {
    /// Open (creating if missing) the database file at `path`, in WAL mode, and migrate it.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        Self::with_pool(
            SqlitePoolOptions::new()
                .connect_with(options)
                .await
                .map_err(storage)?,
        )
        .await
    }

    /// Connect with a `sqlite:` URL (e.g. `sqlite://consent.db?mode=rwc`) and migrate.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url).map_err(storage)?;
        Self::with_pool(
            SqlitePoolOptions::new()
                .connect_with(options)
                .await
                .map_err(storage)?,
        )
        .await
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

#[async_trait]
impl ConsentStore for SqliteConsentStore {
    async fn append(&self, record: &ChainRecord) -> Result<()> {
        check_appendable(record)?;
        let row = SqlRecord::encode(record)?;
        let done = sqlx::query(APPEND)
            .bind(&row.chain)
            .bind(row.seq)
            .bind(row.recorded_at)
            .bind(&row.kind)
            .bind(&row.header)
            .bind(&row.payload)
            .bind(&row.payload_hash)
            .bind(&row.prev_hash)
            .bind(&row.hash)
            .execute(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, &record.chain, record.seq))?;
        if done.rows_affected() == 0 {
            return Err(crate::Error::Conflict {
                chain: record.chain.clone(),
                seq: record.seq,
            });
        }
        Ok(())
    }

    async fn read(&self, chain: &str, from_seq: u64) -> Result<Vec<ChainRecord>> {
        let rows: Vec<SqliteRow> = sqlx::query_as(READ)
            .bind(chain)
            .bind(seq_to_sql(from_seq))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, chain, from_seq))?;
        rows.into_iter()
            .map(|r| SqlRecord::from(r).decode())
            .collect()
    }

    async fn head(&self, chain: &str) -> Result<Option<ChainRecord>> {
        let row: Option<SqliteRow> = sqlx::query_as(HEAD)
            .bind(chain)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, chain, 0))?;
        row.map(|r| SqlRecord::from(r).decode()).transpose()
    }

    async fn redact(&self, chain: &str, seqs: &[u64]) -> Result<u64> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance;
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
        let pool = store.pool().clone();
        conformance::verify_names_first_broken_record(Arc::new(store), async move |chain, seq| {
            // The append-only trigger has to go first: that is what a tamperer with file
            // access would do.
            sqlx::query("DROP TRIGGER consent_records_redact_only")
                .execute(&pool)
                .await
                .expect("drop trigger");
            sqlx::query("UPDATE consent_records SET header = ?1 WHERE chain = ?2 AND seq = ?3")
                .bind(r#"{"purpose":"forged"}"#)
                .bind(chain)
                .bind(seq_to_sql(seq))
                .execute(&pool)
                .await
                .expect("tamper");
        })
        .await;
    }

    #[tokio::test]
    async fn rows_refuse_edits_and_deletes() {
        let (store, _dir) = store().await;
        let record = crate::record::ChainRecord::seal(
            "chain",
            1,
            jiff::Timestamp::UNIX_EPOCH,
            crate::RecordKind::Granted,
            crate::RecordHeader::default(),
            serde_json::json!({}),
            crate::GENESIS_HASH,
        )
        .expect("seal");
        store.append(&record).await.expect("append");
        for sql in [
            "UPDATE consent_records SET hash = 'x'",
            "UPDATE consent_records SET payload = '{}'",
            "DELETE FROM consent_records",
        ] {
            assert!(
                sqlx::query(sql).execute(store.pool()).await.is_err(),
                "{sql} must be refused"
            );
        }
        assert_eq!(store.redact("chain", &[1]).await.expect("redact"), 1);
    }

    #[tokio::test]
    async fn reopening_keeps_data_and_migrations_are_idempotent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("consent.db");
        let record = crate::record::ChainRecord::seal(
            "chain",
            1,
            jiff::Timestamp::UNIX_EPOCH,
            crate::RecordKind::Granted,
            crate::RecordHeader::default(),
            serde_json::json!({"k": "v"}),
            crate::GENESIS_HASH,
        )
        .expect("seal");
        SqliteConsentStore::open(&path)
            .await
            .expect("open")
            .append(&record)
            .await
            .expect("append");
        let url = format!("sqlite://{}", path.display());
        let reopened = SqliteConsentStore::connect(&url).await.expect("reopen");
        assert_eq!(reopened.read("chain", 1).await.expect("read"), vec![record]);
    }
}
