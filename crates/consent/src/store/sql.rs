//! What the SQLite and PostgreSQL backends share: the SQL (the same text runs on both, since
//! sqlx binds `$N` placeholders on SQLite too), the row type and its mapping to a
//! [`ChainRecord`], error mapping, and one implementation of
//! [`ConsentStore`](crate::ConsentStore) stamped out per backend by `sql_consent_store!`.
//!
//! The row type is shared because the column types decode to the same Rust types on both
//! databases (TEXT/String, INTEGER or BIGINT/i64). What stays in the backend modules is what
//! really differs: connecting, the migrations directory, and [`redact`](crate::ConsentStore::redact)
//! (one `= ANY($2)` statement over an array on PostgreSQL, which SQLite has no array type for).

use crate::error::{Error, Result, StorageError};
use crate::record::{ChainRecord, RecordKind};

/// Where both backends record their migrations, apart from sqlx's default table, so the
/// database can be shared with the application and other crates.
pub(crate) const MIGRATIONS_TABLE: &str = "_strongroom_consent_migrations";

/// Inserts a record only if it extends the chain: `seq` 1, or the previous record exists with
/// the hash this one links to. A lost race on the `(chain, seq)` key is a unique violation.
pub(crate) const APPEND: &str = "INSERT INTO consent_records \
    (chain, seq, recorded_at, kind, header, payload, payload_hash, prev_hash, hash) \
    SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 \
    WHERE $2 = 1 OR EXISTS (SELECT 1 FROM consent_records \
        WHERE chain = $1 AND seq = $2 - 1 AND hash = $8)";
pub(crate) const READ: &str = "SELECT chain, seq, recorded_at, kind, header, payload, payload_hash, \
    prev_hash, hash FROM consent_records WHERE chain = $1 AND seq >= $2 ORDER BY seq";
pub(crate) const HEAD: &str = "SELECT chain, seq, recorded_at, kind, header, payload, payload_hash, \
    prev_hash, hash FROM consent_records WHERE chain = $1 ORDER BY seq DESC LIMIT 1";

/// Map a u64 sequence number to the i64 SQL databases store.
pub(crate) fn seq_to_sql(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// A stored row, in the column types both SQL backends share.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SqlRecord {
    pub(crate) chain: String,
    pub(crate) seq: i64,
    pub(crate) recorded_at: i64,
    pub(crate) kind: String,
    pub(crate) header: String,
    pub(crate) payload: Option<String>,
    pub(crate) payload_hash: String,
    pub(crate) prev_hash: String,
    pub(crate) hash: String,
}

impl SqlRecord {
    pub(crate) fn encode(r: &ChainRecord) -> Result<Self> {
        Ok(Self {
            chain: r.chain.clone(),
            seq: seq_to_sql(r.seq),
            recorded_at: r.recorded_at.as_microsecond(),
            kind: r.kind.as_str().to_owned(),
            header: to_json(&r.header)?,
            payload: r.payload.as_ref().map(to_json).transpose()?,
            payload_hash: r.payload_hash.clone(),
            prev_hash: r.prev_hash.clone(),
            hash: r.hash.clone(),
        })
    }

    pub(crate) fn decode(self) -> Result<ChainRecord> {
        let corrupt = |what: &str, e: &dyn std::fmt::Display| Error::Corrupt {
            reason: format!("chain {} seq {}: {what}: {e}", self.chain, self.seq),
        };
        Ok(ChainRecord {
            seq: u64::try_from(self.seq).map_err(|e| corrupt("seq", &e))?,
            recorded_at: jiff::Timestamp::from_microsecond(self.recorded_at)
                .map_err(|e| corrupt("recorded_at", &e))?,
            kind: RecordKind::parse(&self.kind)?,
            header: serde_json::from_str(&self.header).map_err(|e| corrupt("header", &e))?,
            payload: self
                .payload
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| corrupt("payload", &e))?,
            payload_hash: self.payload_hash,
            prev_hash: self.prev_hash,
            hash: self.hash,
            chain: self.chain,
        })
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Corrupt {
        reason: format!("cannot encode record: {e}"),
    })
}

/// Wrap a connection or migration error.
pub(crate) fn storage(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Storage(StorageError::new(e))
}

/// Map a database error: unique violations mean another writer won the race.
pub(crate) fn map_sqlx(e: sqlx::Error, chain: &str, seq: u64) -> Error {
    match &e {
        sqlx::Error::RowNotFound => Error::NotFound {
            what: format!("record {seq} of chain {chain}"),
        },
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::Conflict {
            chain: chain.to_owned(),
            seq,
        },
        _ => storage(e),
    }
}

/// Implements `ConsentStore` for a struct with a `pool: sqlx::Pool<_>` field. The invoking
/// module supplies `async fn redact(pool, chain, seqs) -> Result<u64>`, the one operation whose
/// form differs per database.
macro_rules! sql_consent_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::ConsentStore for $store {
            async fn append(
                &self,
                record: &$crate::record::ChainRecord,
            ) -> $crate::error::Result<()> {
                use $crate::store::sql::*;
                $crate::store::check_appendable(record)?;
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
                    return Err($crate::error::Error::Conflict {
                        chain: record.chain.clone(),
                        seq: record.seq,
                    });
                }
                Ok(())
            }

            async fn read(
                &self,
                chain: &str,
                from_seq: u64,
            ) -> $crate::error::Result<Vec<$crate::record::ChainRecord>> {
                use $crate::store::sql::*;
                let rows: Vec<SqlRecord> = sqlx::query_as(READ)
                    .bind(chain)
                    .bind(seq_to_sql(from_seq))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| map_sqlx(e, chain, from_seq))?;
                rows.into_iter().map(SqlRecord::decode).collect()
            }

            async fn head(
                &self,
                chain: &str,
            ) -> $crate::error::Result<Option<$crate::record::ChainRecord>> {
                use $crate::store::sql::*;
                let row: Option<SqlRecord> = sqlx::query_as(HEAD)
                    .bind(chain)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| map_sqlx(e, chain, 0))?;
                row.map(SqlRecord::decode).transpose()
            }

            async fn redact(&self, chain: &str, seqs: &[u64]) -> $crate::error::Result<u64> {
                redact(&self.pool, chain, seqs).await
            }
        }
    };
}

pub(crate) use sql_consent_store;

/// Checks both SQL backends run against their own database, on top of the conformance suite.
#[cfg(test)]
pub(crate) mod tests {
    use crate::conformance;
    use crate::record::{ChainRecord, RecordHeader, RecordKind};
    use crate::store::{ConsentStore, DynConsentStore};
    use std::sync::Arc;

    /// Runs a statement on `pool`, bypassing the store.
    pub(crate) fn raw<DB>(pool: sqlx::Pool<DB>) -> impl AsyncFn(String) -> Result<(), sqlx::Error>
    where
        DB: sqlx::Database,
        for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
        DB::Arguments: sqlx::IntoArguments<DB>,
    {
        async move |sql| {
            sqlx::query::<DB>(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .map(drop)
        }
    }

    fn first_record(payload: serde_json::Value) -> ChainRecord {
        ChainRecord::seal(
            "chain",
            1,
            jiff::Timestamp::UNIX_EPOCH,
            RecordKind::Granted,
            RecordHeader::default(),
            payload,
            crate::GENESIS_HASH,
        )
        .expect("seal")
    }

    /// The guard triggers refuse every update but dropping a payload, and every delete.
    /// `raw(sql)` runs `sql` on the store's pool, bypassing the store.
    pub(crate) async fn rows_refuse_edits_and_deletes(
        store: &DynConsentStore,
        raw: impl AsyncFn(String) -> Result<(), sqlx::Error>,
    ) {
        store
            .append(&first_record(serde_json::json!({})))
            .await
            .expect("append");
        for sql in [
            "UPDATE consent_records SET hash = 'x'",
            "UPDATE consent_records SET payload = '{}'",
            "DELETE FROM consent_records",
        ] {
            assert!(raw(sql.to_owned()).await.is_err(), "{sql} must be refused");
        }
        assert_eq!(store.redact("chain", &[1]).await.expect("redact"), 1);
    }

    /// [`conformance::verify_names_first_broken_record`] with a tamperer who edits a header in
    /// the table, after `guard_off` got the backend's guard trigger out of the way (as someone
    /// with file access or table ownership would). `raw(sql)` runs `sql` on the store's pool.
    pub(crate) async fn verify_names_first_broken_record(
        store: Arc<DynConsentStore>,
        guard_off: &'static str,
        raw: impl AsyncFn(String) -> Result<(), sqlx::Error>,
    ) {
        conformance::verify_names_first_broken_record(store, async move |chain, seq| {
            raw(guard_off.to_owned()).await.expect("guard off");
            // Chains are hex digests, so they can be spelled into the statement.
            assert!(chain.bytes().all(|b| b.is_ascii_hexdigit()), "{chain}");
            raw(format!(
                "UPDATE consent_records SET header = '{{\"purpose\":\"forged\"}}' \
                 WHERE chain = '{chain}' AND seq = {seq}"
            ))
            .await
            .expect("tamper");
        })
        .await;
    }

    /// What one store wrote, a store opened later on the same database reads back, after
    /// running the (already applied) migrations again.
    pub(crate) async fn reopening_keeps_data<S: ConsentStore>(
        first: S,
        reopen: impl AsyncFnOnce() -> S,
    ) {
        let record = first_record(serde_json::json!({"k": "v"}));
        first.append(&record).await.expect("append");
        drop(first);
        let reopened = reopen().await;
        assert_eq!(reopened.read("chain", 1).await.expect("read"), vec![record]);
    }
}
