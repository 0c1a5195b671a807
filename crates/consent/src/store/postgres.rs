use crate::error::{Result, StorageError};
use crate::record::ChainRecord;
use crate::store::{ConsentStore, SqlRecord, check_appendable, map_sqlx, seq_to_sql};
use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions};

const MIGRATIONS_TABLE: &str = "_strongroom_consent_migrations";

const APPEND: &str = "INSERT INTO consent_records \
    (chain, seq, recorded_at, kind, header, payload, payload_hash, prev_hash, hash) \
    SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 \
    WHERE $2 = 1 OR EXISTS (SELECT 1 FROM consent_records \
        WHERE chain = $1 AND seq = $2 - 1 AND hash = $8)";
const READ: &str = "SELECT chain, seq, recorded_at, kind, header, payload, payload_hash, \
    prev_hash, hash FROM consent_records WHERE chain = $1 AND seq >= $2 ORDER BY seq";
const HEAD: &str = "SELECT chain, seq, recorded_at, kind, header, payload, payload_hash, \
    prev_hash, hash FROM consent_records WHERE chain = $1 ORDER BY seq DESC LIMIT 1";
const REDACT: &str = "UPDATE consent_records SET payload = NULL \
    WHERE chain = $1 AND seq = ANY($2) AND payload IS NOT NULL";

/// A [`ConsentStore`] in PostgreSQL (feature `postgres`).
///
/// Tables are created by embedded migrations when the store is built, in the connection's
/// `search_path` schema; their bookkeeping lives in `_strongroom_consent_migrations`, so the
/// schema can be shared with other crates. Concurrent appends to one chain are serialised by the
/// `(chain, seq)` primary key: the loser gets [`Error::Conflict`](crate::Error::Conflict).
#[derive(Debug, Clone)]
pub struct PostgresConsentStore {
    pool: PgPool,
}

#[derive(sqlx::FromRow)]
struct PgRow {
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

impl From<PgRow> for SqlRecord {
    fn from(r: PgRow) -> Self {
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

#[async_trait]
impl ConsentStore for PostgresConsentStore {
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
        let rows: Vec<PgRow> = sqlx::query_as(READ)
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
        let row: Option<PgRow> = sqlx::query_as(HEAD)
            .bind(chain)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, chain, 0))?;
        row.map(|r| SqlRecord::from(r).decode()).transpose()
    }

    async fn redact(&self, chain: &str, seqs: &[u64]) -> Result<u64> {
        let seqs: Vec<i64> = seqs.iter().map(|&s| seq_to_sql(s)).collect();
        let done = sqlx::query(REDACT)
            .bind(chain)
            .bind(&seqs)
            .execute(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, chain, 0))?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance;
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
        let pool = store.pool().clone();
        conformance::verify_names_first_broken_record(Arc::new(store), async move |chain, seq| {
            // The append-only trigger has to go first: that is what a tamperer with table
            // ownership would do.
            sqlx::query("ALTER TABLE consent_records DISABLE TRIGGER consent_records_guard")
                .execute(&pool)
                .await
                .expect("disable trigger");
            sqlx::query("UPDATE consent_records SET header = $1 WHERE chain = $2 AND seq = $3")
                .bind(r#"{"purpose":"forged"}"#)
                .bind(chain)
                .bind(seq_to_sql(seq))
                .execute(&pool)
                .await
                .expect("tamper");
        })
        .await;
        schema.drop().await;
    }

    #[tokio::test]
    async fn rows_refuse_edits_and_deletes() {
        let Some((store, schema)) = store().await else {
            return;
        };
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
        schema.drop().await;
    }
}
