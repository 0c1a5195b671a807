use std::str::FromStr;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;

use super::sql::{
    CheckpointRow, HeadRow, INSERT_CHUNK, MIGRATIONS_TABLE, RecordRow, checkpoint_binds, clamp_i64,
    db_error, is_unique_violation, migrate_error, parse_ids, push_existing_ids, push_insert,
    push_query, to_i64,
};
use super::{AuditStore, check_anchor, check_batch};
use crate::{
    AuditQuery, AuditRecord, ChainHead, ChainId, Checkpoint, CheckpointKind, Error, Result,
};

/// An [`AuditStore`] in a SQLite database (feature `sqlite`).
///
/// Appends take SQLite's write lock up front (`BEGIN IMMEDIATE`), so writers in several processes
/// sharing the file are serialized by SQLite itself.
#[derive(Debug, Clone)]
pub struct SqliteAuditStore {
    pool: SqlitePool,
}

/// Runs this crate's SQLite migrations (audit log and outbox tables) on `pool`.
pub(crate) async fn migrate_sqlite(pool: &SqlitePool) -> Result<()> {
    let mut migrator = sqlx::migrate!("./migrations/sqlite");
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    migrator.run(pool).await.map_err(migrate_error)
}

/// Opens (creating if missing) a SQLite database file in WAL mode, the settings both the store and
/// the outbox want.
pub(crate) async fn open_sqlite(path: &str) -> Result<SqlitePool> {
    if path.is_empty() {
        return Err(Error::invalid("database path", "must not be empty"));
    }
    let url = if path.starts_with("sqlite:") {
        path.to_owned()
    } else {
        format!("sqlite://{path}")
    };
    let options = SqliteConnectOptions::from_str(&url)
        .map_err(|e| Error::invalid("database path", e.to_string()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(std::time::Duration::from_secs(30));
    SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .map_err(|e| db_error("opening the SQLite database", e))
}

impl SqliteAuditStore {
    /// Opens (creating if missing) the database file at `path` and runs migrations.
    pub async fn open(path: &str) -> Result<SqliteAuditStore> {
        SqliteAuditStore::new(open_sqlite(path).await?).await
    }

    /// Uses an existing pool (its own file, or the application's) and runs migrations. The
    /// migrations are recorded in `_strongroom_audit_migrations`, apart from the application's.
    pub async fn new(pool: SqlitePool) -> Result<SqliteAuditStore> {
        migrate_sqlite(&pool).await?;
        Ok(SqliteAuditStore { pool })
    }

    /// The pool, for sharing with [`SqliteOutbox`](crate::SqliteOutbox) or the application.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

const HEAD: &str = "SELECT seq, hash FROM audit_chains WHERE chain = ?";

#[async_trait]
impl AuditStore for SqliteAuditStore {
    async fn head(&self, chain: &ChainId) -> Result<ChainHead> {
        let row: Option<HeadRow> = sqlx::query_as(HEAD)
            .bind(chain.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error("reading the chain head", e))?;
        match row {
            Some(row) => row.into_head(),
            None => Ok(ChainHead {
                seq: 0,
                hash: chain.genesis(),
            }),
        }
    }

    async fn append(&self, chain: &ChainId, records: &[AuditRecord]) -> Result<()> {
        let err = |e| db_error("appending audit records", e);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(err)?;
        let row: Option<HeadRow> = sqlx::query_as(HEAD)
            .bind(chain.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(err)?;
        let head = match row {
            Some(row) => row.into_head()?,
            None => ChainHead {
                seq: 0,
                hash: chain.genesis(),
            },
        };
        check_batch(chain, head, records)?;
        let ids: Vec<Uuid> = records.iter().map(|r| r.event.id()).collect();
        for ids in ids.chunks(INSERT_CHUNK) {
            let mut qb = QueryBuilder::<Sqlite>::new("");
            push_existing_ids(&mut qb, chain, ids);
            let found: Vec<(String,)> =
                qb.build_query_as().fetch_all(&mut *tx).await.map_err(err)?;
            if let Some((id,)) = found.into_iter().next() {
                return Err(Error::DuplicateEvent {
                    id: id
                        .parse()
                        .map_err(|e| Error::malformed("stored event id", e))?,
                });
            }
        }
        for chunk in records.chunks(INSERT_CHUNK) {
            let mut qb = QueryBuilder::<Sqlite>::new("");
            push_insert(&mut qb, chain, chunk)?;
            qb.build().execute(&mut *tx).await.map_err(|e| {
                if is_unique_violation(&e) {
                    Error::Conflict {
                        chain: chain.to_string(),
                    }
                } else {
                    err(e)
                }
            })?;
        }
        let last = records[records.len() - 1].as_head();
        sqlx::query(
            "INSERT INTO audit_chains (chain, seq, hash) VALUES (?, ?, ?) \
             ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        )
        .bind(chain.as_str())
        .bind(to_i64(last.seq)?)
        .bind(last.hash.0.to_vec())
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)
    }

    async fn read(&self, chain: &ChainId, from_seq: u64, limit: usize) -> Result<Vec<AuditRecord>> {
        let rows: Vec<RecordRow> = sqlx::query_as(
            "SELECT seq, event, prev_hash, hash FROM audit_records WHERE chain = ? AND seq >= ? ORDER BY seq LIMIT ?",
        )
        .bind(chain.as_str())
        .bind(clamp_i64(from_seq))
        .bind(clamp_i64(limit as u64))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("reading audit records", e))?;
        rows.into_iter().map(RecordRow::into_record).collect()
    }

    async fn query(&self, chain: &ChainId, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        query.validate()?;
        let mut qb = QueryBuilder::<Sqlite>::new("");
        push_query(&mut qb, chain, query);
        let rows: Vec<RecordRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("querying audit records", e))?;
        rows.into_iter().map(RecordRow::into_record).collect()
    }

    async fn existing_ids(&self, chain: &ChainId, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        let mut found = Vec::new();
        for ids in ids.chunks(INSERT_CHUNK) {
            let mut qb = QueryBuilder::<Sqlite>::new("");
            push_existing_ids(&mut qb, chain, ids);
            let rows: Vec<(String,)> = qb
                .build_query_as()
                .fetch_all(&self.pool)
                .await
                .map_err(|e| db_error("looking up event ids", e))?;
            found.extend(parse_ids(rows.into_iter().map(|(id,)| id).collect())?);
        }
        Ok(found)
    }

    async fn put_checkpoint(&self, checkpoint: &Checkpoint) -> Result<()> {
        if checkpoint.kind != CheckpointKind::Checkpoint {
            return Err(Error::invalid("checkpoint", "anchors are stored by prune"));
        }
        let (chain, kind, seq, head, time, key_id, signature) = checkpoint_binds(checkpoint)?;
        sqlx::query(
            "INSERT INTO audit_checkpoints (chain, kind, seq, head, time_us, key_id, signature) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (chain, kind, seq) DO UPDATE SET \
             head = excluded.head, time_us = excluded.time_us, key_id = excluded.key_id, signature = excluded.signature",
        )
        .bind(chain)
        .bind(kind)
        .bind(seq)
        .bind(head)
        .bind(time)
        .bind(key_id)
        .bind(signature)
        .execute(&self.pool)
        .await
        .map_err(|e| db_error("storing a checkpoint", e))?;
        Ok(())
    }

    async fn checkpoints(
        &self,
        chain: &ChainId,
        from_seq: u64,
        to_seq: u64,
    ) -> Result<Vec<Checkpoint>> {
        let rows: Vec<CheckpointRow> = sqlx::query_as(
            "SELECT chain, kind, seq, head, time_us, key_id, signature FROM audit_checkpoints \
             WHERE chain = ? AND kind = 'checkpoint' AND seq >= ? AND seq <= ? ORDER BY seq",
        )
        .bind(chain.as_str())
        .bind(clamp_i64(from_seq))
        .bind(clamp_i64(to_seq))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("reading checkpoints", e))?;
        rows.into_iter()
            .map(CheckpointRow::into_checkpoint)
            .collect()
    }

    async fn latest_checkpoint(&self, chain: &ChainId) -> Result<Option<Checkpoint>> {
        let row: Option<CheckpointRow> = sqlx::query_as(
            "SELECT chain, kind, seq, head, time_us, key_id, signature FROM audit_checkpoints \
             WHERE chain = ? AND kind = 'checkpoint' ORDER BY seq DESC LIMIT 1",
        )
        .bind(chain.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error("reading checkpoints", e))?;
        row.map(CheckpointRow::into_checkpoint).transpose()
    }

    async fn anchor(&self, chain: &ChainId) -> Result<Option<Checkpoint>> {
        let row: Option<CheckpointRow> = sqlx::query_as(
            "SELECT chain, kind, seq, head, time_us, key_id, signature FROM audit_checkpoints \
             WHERE chain = ? AND kind = 'anchor' ORDER BY seq DESC LIMIT 1",
        )
        .bind(chain.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error("reading the retention anchor", e))?;
        row.map(CheckpointRow::into_checkpoint).transpose()
    }

    async fn prune(&self, anchor: &Checkpoint) -> Result<u64> {
        let err = |e| db_error("pruning audit records", e);
        let chain = anchor.chain.as_str();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(err)?;
        let head = match sqlx::query_as::<_, HeadRow>(HEAD)
            .bind(chain)
            .fetch_optional(&mut *tx)
            .await
            .map_err(err)?
        {
            Some(row) => row.into_head()?,
            None => ChainHead {
                seq: 0,
                hash: anchor.chain.genesis(),
            },
        };
        let current: Option<CheckpointRow> = sqlx::query_as(
            "SELECT chain, kind, seq, head, time_us, key_id, signature FROM audit_checkpoints \
             WHERE chain = ? AND kind = 'anchor' ORDER BY seq DESC LIMIT 1",
        )
        .bind(chain)
        .fetch_optional(&mut *tx)
        .await
        .map_err(err)?;
        let current = current.map(CheckpointRow::into_checkpoint).transpose()?;
        check_anchor(anchor, current.as_ref(), head)?;
        let seq = to_i64(anchor.seq)?;
        let deleted = sqlx::query("DELETE FROM audit_records WHERE chain = ? AND seq <= ?")
            .bind(chain)
            .bind(seq)
            .execute(&mut *tx)
            .await
            .map_err(err)?
            .rows_affected();
        sqlx::query(
            "DELETE FROM audit_checkpoints WHERE chain = ? AND (seq <= ? OR kind = 'anchor')",
        )
        .bind(chain)
        .bind(seq)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        let (chain, kind, seq, head, time, key_id, signature) = checkpoint_binds(anchor)?;
        sqlx::query(
            "INSERT INTO audit_checkpoints (chain, kind, seq, head, time_us, key_id, signature) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(chain)
        .bind(kind)
        .bind(seq)
        .bind(head)
        .bind(time)
        .bind(key_id)
        .bind(signature)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::SqliteAuditStore;
    use crate::{AuditStore, conformance};

    async fn store(dir: &tempfile::TempDir) -> SqliteAuditStore {
        SqliteAuditStore::open(dir.path().join("audit.db").to_str().unwrap())
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn conformance_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        conformance::run_all(Arc::new(store(&dir).await)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_stores_on_one_file_cannot_fork_a_chain() {
        // Two pools on one file behave like two processes.
        let dir = tempfile::tempdir().unwrap();
        let a = store(&dir).await;
        let b = store(&dir).await;
        conformance::concurrent_writers_across_stores(Arc::new(a), Arc::new(b)).await;
    }

    #[tokio::test]
    async fn editing_a_stored_event_is_caught_by_verify() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        let pool = store.pool().clone();
        conformance::tampering_in_place(Arc::new(store), |chain, seq, event_json| {
            let pool = pool.clone();
            Box::pin(async move {
                sqlx::query("UPDATE audit_records SET event = ? WHERE chain = ? AND seq = ?")
                    .bind(event_json)
                    .bind(chain)
                    .bind(seq as i64)
                    .execute(&pool)
                    .await
                    .unwrap();
            })
        })
        .await;
    }

    #[tokio::test]
    async fn reopening_keeps_the_chain_and_bad_paths_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let chain = crate::ChainId::new("reopen").unwrap();
        let head = {
            let store = Arc::new(store(&dir).await);
            let log = crate::AuditLog::builder(
                store,
                chain.clone(),
                crate::CheckpointSigner::from_seed(&[3; 32]),
            )
            .build();
            log.append(
                crate::AuditEvent::builder(
                    crate::Actor::Anonymous,
                    "a.b",
                    crate::Resource::new("x", "1").unwrap(),
                )
                .build()
                .unwrap(),
            )
            .await
            .unwrap()
            .as_head()
        };
        assert_eq!(store(&dir).await.head(&chain).await.unwrap(), head);
        assert!(matches!(
            SqliteAuditStore::open("").await,
            Err(crate::Error::Invalid { .. })
        ));
        let missing_dir = dir.path().join("no/such/dir/a.db");
        assert!(matches!(
            SqliteAuditStore::open(missing_dir.to_str().unwrap()).await,
            Err(crate::Error::Unavailable { .. })
        ));
    }
}
