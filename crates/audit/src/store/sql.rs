//! What the SQLite and PostgreSQL backends share: the SQL (the same text runs on both, since
//! sqlx binds `$N` placeholders on SQLite too), row types, dynamic SQL, error mapping, and one
//! implementation of [`AuditStore`](crate::AuditStore) stamped out per backend by
//! `sql_audit_store!`. What stays in each backend is what truly differs: how an append locks the
//! chain (SQLite `BEGIN IMMEDIATE`, PostgreSQL `SELECT ... FOR UPDATE` on the head row) and how
//! a list of event ids is looked up (an `IN` list, or a join against `unnest` of an array).

use sqlx::{Database, Encode, QueryBuilder, Type};

use super::Columns;
use crate::clock::{from_micros, micros};
use crate::{
    AuditEvent, AuditQuery, AuditRecord, ChainId, Checkpoint, CheckpointKind, Digest, Error, Order,
    Result,
};

/// The columns of a record row, in [`RecordRow`]'s order.
macro_rules! record_columns {
    () => {
        "seq, event, prev_hash, hash, event_id, time_us, actor_kind, actor_id, action, \
         resource_type, resource_id, outcome"
    };
}

/// The columns of a checkpoint row, in [`CheckpointRow`]'s order.
macro_rules! checkpoint_columns {
    () => {
        "chain, kind, seq, head, time_us, key_id, signature"
    };
}

pub(crate) const HEAD: &str = "SELECT seq, hash FROM audit_chains WHERE chain = $1";
pub(crate) const SIGNED_HEAD: &str =
    "SELECT seq, hash, time_us, key_id, signature FROM audit_chains WHERE chain = $1";
pub(crate) const UPSERT_HEAD: &str = "INSERT INTO audit_chains (chain, seq, hash, time_us, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, time_us = excluded.time_us, key_id = excluded.key_id, signature = excluded.signature";
pub(crate) const READ_RECORDS: &str = concat!(
    "SELECT ",
    record_columns!(),
    " FROM audit_records WHERE chain = $1 AND seq >= $2 ORDER BY seq LIMIT $3"
);
pub(crate) const PUT_CHECKPOINT: &str = concat!(
    "INSERT INTO audit_checkpoints (",
    checkpoint_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (chain, kind, seq) DO UPDATE SET \
     head = excluded.head, time_us = excluded.time_us, key_id = excluded.key_id, \
     signature = excluded.signature"
);
pub(crate) const INSERT_ANCHOR: &str = concat!(
    "INSERT INTO audit_checkpoints (",
    checkpoint_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
);
pub(crate) const CHECKPOINTS: &str = concat!(
    "SELECT ",
    checkpoint_columns!(),
    " FROM audit_checkpoints WHERE chain = $1 AND kind = 'checkpoint' AND seq >= $2 \
     AND seq <= $3 ORDER BY seq"
);
pub(crate) const LATEST_CHECKPOINT: &str = concat!(
    "SELECT ",
    checkpoint_columns!(),
    " FROM audit_checkpoints WHERE chain = $1 AND kind = 'checkpoint' ORDER BY seq DESC LIMIT 1"
);
pub(crate) const LATEST_ANCHOR: &str = concat!(
    "SELECT ",
    checkpoint_columns!(),
    " FROM audit_checkpoints WHERE chain = $1 AND kind = 'anchor' ORDER BY seq DESC LIMIT 1"
);
pub(crate) const PRUNE_RECORDS: &str = "DELETE FROM audit_records WHERE chain = $1 AND seq <= $2";
pub(crate) const PRUNE_CHECKPOINTS: &str =
    "DELETE FROM audit_checkpoints WHERE chain = $1 AND (seq <= $2 OR kind = 'anchor')";

/// Rows per multi-row INSERT: 13 binds each stays far below SQLite's 32766 and PostgreSQL's
/// 65535 bind limits.
pub(crate) const INSERT_CHUNK: usize = 500;

/// The name of the table recording this crate's applied migrations, distinct from sqlx's default
/// so that the application's own migrations can live in the same database.
pub(crate) const MIGRATIONS_TABLE: &str = "_strongroom_audit_migrations";

#[derive(sqlx::FromRow)]
pub(crate) struct RecordRow {
    seq: i64,
    event: String,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
    event_id: String,
    time_us: i64,
    actor_kind: String,
    actor_id: String,
    action: String,
    resource_type: String,
    resource_id: String,
    outcome: String,
}

impl RecordRow {
    /// The record, once its stored columns are checked against its event.
    pub(crate) fn into_record(self) -> Result<AuditRecord> {
        let seq = to_u64(self.seq)?;
        let event = AuditEvent::from_json(&self.event)?;
        Columns {
            event_id: self.event_id,
            time_us: self.time_us,
            actor_kind: self.actor_kind,
            actor_id: self.actor_id,
            action: self.action,
            resource_type: self.resource_type,
            resource_id: self.resource_id,
            outcome: self.outcome,
        }
        .check(seq, &event)?;
        Ok(AuditRecord {
            seq,
            event,
            prev_hash: Digest::from_slice(&self.prev_hash)?,
            hash: Digest::from_slice(&self.hash)?,
        })
    }
}

/// The head row with its signature columns (NULL in rows written before heads were signed).
#[derive(sqlx::FromRow)]
pub(crate) struct SignedHeadRow {
    seq: i64,
    hash: Vec<u8>,
    time_us: Option<i64>,
    key_id: Option<String>,
    signature: Option<Vec<u8>>,
}

impl SignedHeadRow {
    pub(crate) fn into_signed_head(self, chain: &ChainId) -> Result<Option<Checkpoint>> {
        let (Some(time_us), Some(key_id), Some(signature)) =
            (self.time_us, self.key_id, self.signature)
        else {
            return Ok(None);
        };
        Ok(Some(Checkpoint {
            chain: chain.clone(),
            kind: CheckpointKind::Head,
            seq: to_u64(self.seq)?,
            head: Digest::from_slice(&self.hash)?,
            time: from_micros(time_us)?,
            key_id,
            // A signature of the wrong length cannot verify; keep the row readable so that
            // verify reports it as a bad head signature.
            signature: signature.as_slice().try_into().unwrap_or([0; 64]),
        }))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CheckpointRow {
    chain: String,
    kind: String,
    seq: i64,
    head: Vec<u8>,
    time_us: i64,
    key_id: String,
    signature: Vec<u8>,
}

impl CheckpointRow {
    pub(crate) fn into_checkpoint(self) -> Result<Checkpoint> {
        Ok(Checkpoint {
            chain: ChainId::new(self.chain)?,
            kind: CheckpointKind::parse(&self.kind)?,
            seq: to_u64(self.seq)?,
            head: Digest::from_slice(&self.head)?,
            time: from_micros(self.time_us)?,
            key_id: self.key_id,
            signature: self
                .signature
                .as_slice()
                .try_into()
                .map_err(|_| Error::malformed("stored signature", "not 64 bytes"))?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct HeadRow {
    pub(crate) seq: i64,
    pub(crate) hash: Vec<u8>,
}

impl HeadRow {
    pub(crate) fn into_head(self) -> Result<crate::ChainHead> {
        Ok(crate::ChainHead {
            seq: to_u64(self.seq)?,
            hash: Digest::from_slice(&self.hash)?,
        })
    }
}

pub(crate) fn to_i64(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::invalid("sequence number", "exceeds the SQL BIGINT range"))
}

pub(crate) fn to_u64(n: i64) -> Result<u64> {
    u64::try_from(n).map_err(|_| Error::malformed("stored sequence number", "negative"))
}

/// `u64::MAX`-style open ends, clamped into BIGINT.
pub(crate) fn clamp_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn db_error(context: &'static str, err: sqlx::Error) -> Error {
    match err {
        sqlx::Error::RowNotFound => Error::NotFound {
            what: context.to_owned(),
        },
        other => Error::unavailable(context, other),
    }
}

pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}

pub(crate) fn migrate_error(err: sqlx::migrate::MigrateError) -> Error {
    Error::unavailable("running audit migrations", err)
}

/// Appends `SELECT ... WHERE <filters> ORDER BY seq LIMIT n` for `query` to `qb`.
pub(crate) fn push_query<DB>(qb: &mut QueryBuilder<DB>, chain: &ChainId, q: &AuditQuery)
where
    DB: Database,
    for<'a> String: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
    for<'a> i32: Encode<'a, DB> + Type<DB>,
{
    qb.push(concat!(
        "SELECT ",
        record_columns!(),
        " FROM audit_records WHERE chain = "
    ));
    qb.push_bind(chain.as_str().to_owned());
    if let Some(cursor) = q.after {
        qb.push(match q.order {
            Order::OldestFirst => " AND seq > ",
            Order::NewestFirst => " AND seq < ",
        });
        qb.push_bind(clamp_i64(cursor.seq));
    }
    if let Some(actor) = &q.actor {
        qb.push(" AND actor_kind = ")
            .push_bind(actor.kind().to_owned());
        qb.push(" AND actor_id = ").push_bind(actor.id().to_owned());
    }
    if q.no_resource {
        qb.push(" AND 1 = 0");
    }
    if !q.resources.is_empty() {
        qb.push(" AND (");
        for (i, resource) in q.resources.iter().enumerate() {
            if i > 0 {
                qb.push(" OR ");
            }
            qb.push("(resource_type = ")
                .push_bind(resource.kind.clone());
            qb.push(" AND resource_id = ")
                .push_bind(resource.id.clone())
                .push(")");
        }
        qb.push(")");
    }
    if let Some(prefix) = &q.action_prefix {
        // substr rather than LIKE: '_' is a LIKE wildcard and a valid action character.
        let dotted = format!("{prefix}.");
        qb.push(" AND (action = ").push_bind(prefix.clone());
        qb.push(" OR substr(action, 1, ")
            .push_bind(dotted.len() as i32);
        qb.push(") = ").push_bind(dotted).push(")");
    }
    if let Some(outcome) = q.outcome {
        qb.push(" AND outcome = ")
            .push_bind(outcome.as_str().to_owned());
    }
    if let Some(since) = q.since {
        qb.push(" AND time_us >= ").push_bind(micros(since));
    }
    if let Some(until) = q.until {
        qb.push(" AND time_us < ").push_bind(micros(until));
    }
    qb.push(match q.order {
        Order::OldestFirst => " ORDER BY seq ASC LIMIT ",
        Order::NewestFirst => " ORDER BY seq DESC LIMIT ",
    });
    qb.push_bind(q.limit as i64);
}

/// Appends a multi-row `INSERT INTO audit_records` for `records` to `qb`.
pub(crate) fn push_insert<DB>(
    qb: &mut QueryBuilder<DB>,
    chain: &ChainId,
    records: &[AuditRecord],
) -> Result<()>
where
    DB: Database,
    for<'a> String: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
    for<'a> Vec<u8>: Encode<'a, DB> + Type<DB>,
{
    let mut rows = Vec::with_capacity(records.len());
    for r in records {
        rows.push((to_i64(r.seq)?, r));
    }
    qb.push(
        "INSERT INTO audit_records (chain, seq, event_id, time_us, actor_kind, actor_id, action, \
         resource_type, resource_id, outcome, event, prev_hash, hash) ",
    );
    qb.push_values(rows, |mut b, (seq, r)| {
        // Derived from the event here, and compared with it again on every read.
        let c = Columns::of(&r.event);
        b.push_bind(chain.as_str().to_owned())
            .push_bind(seq)
            .push_bind(c.event_id)
            .push_bind(c.time_us)
            .push_bind(c.actor_kind)
            .push_bind(c.actor_id)
            .push_bind(c.action)
            .push_bind(c.resource_type)
            .push_bind(c.resource_id)
            .push_bind(c.outcome)
            .push_bind(r.event.to_json())
            .push_bind(r.prev_hash.0.to_vec())
            .push_bind(r.hash.0.to_vec());
    });
    Ok(())
}

/// Appends `SELECT event_id FROM audit_records WHERE chain = ? AND event_id IN (...)`.
#[cfg(feature = "sqlite")]
pub(crate) fn push_existing_ids<DB>(qb: &mut QueryBuilder<DB>, chain: &ChainId, ids: &[uuid::Uuid])
where
    DB: Database,
    for<'a> String: Encode<'a, DB> + Type<DB>,
{
    qb.push("SELECT event_id FROM audit_records WHERE chain = ")
        .push_bind(chain.as_str().to_owned());
    qb.push(" AND event_id IN (");
    let mut list = qb.separated(", ");
    for id in ids {
        list.push_bind(id.to_string());
    }
    qb.push(")");
}

pub(crate) fn parse_ids(ids: Vec<String>) -> Result<Vec<uuid::Uuid>> {
    ids.iter()
        .map(|s| {
            s.parse()
                .map_err(|e| Error::malformed("stored event id", e))
        })
        .collect()
}

/// A checkpoint's columns in table order: chain, kind, seq, head, time_us, key_id, signature.
pub(crate) type CheckpointBinds = (String, &'static str, i64, Vec<u8>, i64, String, Vec<u8>);

pub(crate) fn checkpoint_binds(cp: &Checkpoint) -> Result<CheckpointBinds> {
    Ok((
        cp.chain.as_str().to_owned(),
        cp.kind.as_str(),
        to_i64(cp.seq)?,
        cp.head.0.to_vec(),
        micros(cp.time),
        cp.key_id.clone(),
        cp.signature.to_vec(),
    ))
}

/// A signed head's columns in table order: seq, hash, time_us, key_id, signature.
pub(crate) type HeadBinds = (i64, Vec<u8>, i64, String, Vec<u8>);

pub(crate) fn head_binds(head: &Checkpoint) -> Result<HeadBinds> {
    Ok((
        to_i64(head.seq)?,
        head.head.0.to_vec(),
        micros(head.time),
        head.key_id.clone(),
        head.signature.to_vec(),
    ))
}

/// Implements [`AuditStore`](crate::AuditStore) for `$store` (a struct with a `pool:
/// sqlx::Pool<$db>` field) with the shared SQL above. The invoking module provides the dialect:
/// - `async fn lock_head(conn: &mut <$db as Database>::Connection, chain: &ChainId) ->
///   Result<ChainHead>`: the head, locked against other writers until the transaction ends;
/// - `async fn existing_ids(conn: &mut <$db as Database>::Connection, chain: &ChainId, ids:
///   &[Uuid]) -> Result<Vec<Uuid>>`;
///
/// and `$begin` is the statement that opens a write transaction.
macro_rules! sql_audit_store {
    ($store:ident, $db:ty, $begin:literal) => {
        #[async_trait::async_trait]
        impl $crate::AuditStore for $store {
            async fn head(&self, chain: &$crate::ChainId) -> $crate::Result<$crate::ChainHead> {
                use $crate::store::sql::*;
                let row: Option<HeadRow> = sqlx::query_as(HEAD)
                    .bind(chain.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| db_error("reading the chain head", e))?;
                match row {
                    Some(row) => row.into_head(),
                    None => Ok($crate::ChainHead {
                        seq: 0,
                        hash: chain.genesis(),
                    }),
                }
            }

            async fn signed_head(
                &self,
                chain: &$crate::ChainId,
            ) -> $crate::Result<Option<$crate::Checkpoint>> {
                use $crate::store::sql::*;
                let row: Option<SignedHeadRow> = sqlx::query_as(SIGNED_HEAD)
                    .bind(chain.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| db_error("reading the chain head", e))?;
                Ok(row.map(|r| r.into_signed_head(chain)).transpose()?.flatten())
            }

            async fn append(
                &self,
                chain: &$crate::ChainId,
                records: &[$crate::AuditRecord],
                signed: &$crate::Checkpoint,
            ) -> $crate::Result<()> {
                use $crate::store::sql::*;
                use $crate::store::check_batch;
                use $crate::Error;
                let err = |e| db_error("appending audit records", e);
                // Check the batch's own shape before taking any lock.
                if let Some(first) = records.first() {
                    let before = $crate::ChainHead {
                        seq: first.seq.saturating_sub(1),
                        hash: first.prev_hash,
                    };
                    check_batch(chain, before, records, signed)?;
                }
                let mut tx = self.pool.begin_with($begin).await.map_err(err)?;
                let head = lock_head(&mut *tx, chain).await?;
                check_batch(chain, head, records, signed)?;
                let ids: Vec<uuid::Uuid> = records.iter().map(|r| r.event.id()).collect();
                for ids in ids.chunks(INSERT_CHUNK) {
                    if let Some(id) = existing_ids(&mut *tx, chain, ids).await?.into_iter().next()
                    {
                        return Err(Error::DuplicateEvent { id });
                    }
                }
                for chunk in records.chunks(INSERT_CHUNK) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new("");
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
                let (seq, hash, time_us, key_id, signature) = head_binds(signed)?;
                sqlx::query(UPSERT_HEAD)
                    .bind(chain.as_str())
                    .bind(seq)
                    .bind(hash)
                    .bind(time_us)
                    .bind(key_id)
                    .bind(signature)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                tx.commit().await.map_err(err)
            }

            async fn read(
                &self,
                chain: &$crate::ChainId,
                from_seq: u64,
                limit: usize,
            ) -> $crate::Result<Vec<$crate::AuditRecord>> {
                use $crate::store::sql::*;
                let rows: Vec<RecordRow> = sqlx::query_as(READ_RECORDS)
                    .bind(chain.as_str())
                    .bind(clamp_i64(from_seq))
                    .bind(clamp_i64(limit as u64))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| db_error("reading audit records", e))?;
                rows.into_iter().map(RecordRow::into_record).collect()
            }

            async fn query(
                &self,
                chain: &$crate::ChainId,
                query: &$crate::AuditQuery,
            ) -> $crate::Result<Vec<$crate::AuditRecord>> {
                use $crate::store::sql::*;
                query.validate()?;
                let mut qb = sqlx::QueryBuilder::<$db>::new("");
                push_query(&mut qb, chain, query);
                let rows: Vec<RecordRow> = qb
                    .build_query_as()
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| db_error("querying audit records", e))?;
                rows.into_iter().map(RecordRow::into_record).collect()
            }

            async fn existing_ids(
                &self,
                chain: &$crate::ChainId,
                ids: &[uuid::Uuid],
            ) -> $crate::Result<Vec<uuid::Uuid>> {
                use $crate::store::sql::*;
                let mut conn = self
                    .pool
                    .acquire()
                    .await
                    .map_err(|e| db_error("looking up event ids", e))?;
                let mut found = Vec::new();
                for ids in ids.chunks(INSERT_CHUNK) {
                    found.extend(existing_ids(&mut *conn, chain, ids).await?);
                }
                Ok(found)
            }

            async fn put_checkpoint(&self, checkpoint: &$crate::Checkpoint) -> $crate::Result<()> {
                use $crate::store::sql::*;
                if checkpoint.kind != $crate::CheckpointKind::Checkpoint {
                    return Err($crate::Error::invalid(
                        "checkpoint",
                        "anchors are stored by prune, heads by append",
                    ));
                }
                let (chain, kind, seq, head, time, key_id, signature) =
                    checkpoint_binds(checkpoint)?;
                sqlx::query(PUT_CHECKPOINT)
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
                chain: &$crate::ChainId,
                from_seq: u64,
                to_seq: u64,
            ) -> $crate::Result<Vec<$crate::Checkpoint>> {
                use $crate::store::sql::*;
                let rows: Vec<CheckpointRow> = sqlx::query_as(CHECKPOINTS)
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

            async fn latest_checkpoint(
                &self,
                chain: &$crate::ChainId,
            ) -> $crate::Result<Option<$crate::Checkpoint>> {
                use $crate::store::sql::*;
                let row: Option<CheckpointRow> = sqlx::query_as(LATEST_CHECKPOINT)
                    .bind(chain.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| db_error("reading checkpoints", e))?;
                row.map(CheckpointRow::into_checkpoint).transpose()
            }

            async fn anchor(
                &self,
                chain: &$crate::ChainId,
            ) -> $crate::Result<Option<$crate::Checkpoint>> {
                use $crate::store::sql::*;
                let row: Option<CheckpointRow> = sqlx::query_as(LATEST_ANCHOR)
                    .bind(chain.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| db_error("reading the retention anchor", e))?;
                row.map(CheckpointRow::into_checkpoint).transpose()
            }

            async fn prune(&self, anchor: &$crate::Checkpoint) -> $crate::Result<u64> {
                use $crate::store::sql::*;
                let err = |e| db_error("pruning audit records", e);
                let chain = anchor.chain.as_str();
                let mut tx = self.pool.begin_with($begin).await.map_err(err)?;
                let head = lock_head(&mut *tx, &anchor.chain).await?;
                let current: Option<CheckpointRow> = sqlx::query_as(LATEST_ANCHOR)
                    .bind(chain)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(err)?;
                let current = current.map(CheckpointRow::into_checkpoint).transpose()?;
                $crate::store::check_anchor(anchor, current.as_ref(), head)?;
                let seq = to_i64(anchor.seq)?;
                let deleted = sqlx::query(PRUNE_RECORDS)
                    .bind(chain)
                    .bind(seq)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?
                    .rows_affected();
                sqlx::query(PRUNE_CHECKPOINTS)
                    .bind(chain)
                    .bind(seq)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                let (chain, kind, seq, head, time, key_id, signature) = checkpoint_binds(anchor)?;
                sqlx::query(INSERT_ANCHOR)
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

        /// Edits rows with SQL, as an attacker with write access to the database would.
        #[cfg(any(feature = "conformance", test))]
        #[async_trait::async_trait]
        impl $crate::conformance::Tamper for $store {
            async fn set_column(
                &self,
                chain: &$crate::ChainId,
                seq: u64,
                column: &'static str,
                value: $crate::conformance::ColumnValue,
            ) {
                use $crate::conformance::ColumnValue;
                assert!(
                    column.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                    "{column}"
                );
                let sql = format!(
                    "UPDATE audit_records SET {column} = $1 WHERE chain = $2 AND seq = $3"
                );
                let query = sqlx::query(sqlx::AssertSqlSafe(sql));
                let query = match value {
                    ColumnValue::Text(v) => query.bind(v),
                    ColumnValue::Int(v) => query.bind(v),
                    ColumnValue::Bytes(v) => query.bind(v),
                };
                let done = query
                    .bind(chain.as_str())
                    .bind(seq as i64)
                    .execute(&self.pool)
                    .await
                    .unwrap();
                assert_eq!(done.rows_affected(), 1);
            }

            async fn delete_from(&self, chain: &$crate::ChainId, from_seq: u64) {
                for sql in [
                    "DELETE FROM audit_records WHERE chain = $1 AND seq >= $2",
                    "DELETE FROM audit_checkpoints WHERE chain = $1 AND kind = 'checkpoint' AND seq >= $2",
                ] {
                    sqlx::query(sql)
                        .bind(chain.as_str())
                        .bind(from_seq as i64)
                        .execute(&self.pool)
                        .await
                        .unwrap();
                }
            }

            async fn set_head(&self, chain: &$crate::ChainId, seq: u64, hash: $crate::Digest) {
                sqlx::query("UPDATE audit_chains SET seq = $1, hash = $2 WHERE chain = $3")
                    .bind(seq as i64)
                    .bind(hash.0.to_vec())
                    .bind(chain.as_str())
                    .execute(&self.pool)
                    .await
                    .unwrap();
            }

            async fn restore_head(&self, head: &$crate::Checkpoint) {
                use $crate::store::sql::*;
                let (seq, hash, time_us, key_id, signature) = head_binds(head).unwrap();
                sqlx::query(UPSERT_HEAD)
                    .bind(head.chain.as_str())
                    .bind(seq)
                    .bind(hash)
                    .bind(time_us)
                    .bind(key_id)
                    .bind(signature)
                    .execute(&self.pool)
                    .await
                    .unwrap();
            }

            async fn empty(&self, chain: &$crate::ChainId) {
                for table in ["audit_records", "audit_chains", "audit_checkpoints"] {
                    let sql = format!("DELETE FROM {table} WHERE chain = $1");
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(chain.as_str())
                        .execute(&self.pool)
                        .await
                        .unwrap();
                }
            }
        }
    };
}

pub(crate) use sql_audit_store;
