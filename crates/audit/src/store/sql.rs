//! What the SQLite and PostgreSQL backends share: row types, dynamic SQL, error mapping.

use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::clock::{from_micros, micros};
use crate::{
    AuditEvent, AuditQuery, AuditRecord, ChainId, Checkpoint, CheckpointKind, Digest, Error, Order,
    Result,
};

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
}

impl RecordRow {
    pub(crate) fn into_record(self) -> Result<AuditRecord> {
        Ok(AuditRecord {
            seq: to_u64(self.seq)?,
            event: AuditEvent::from_json(&self.event)?,
            prev_hash: Digest::from_slice(&self.prev_hash)?,
            hash: Digest::from_slice(&self.hash)?,
        })
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
    qb.push("SELECT seq, event, prev_hash, hash FROM audit_records WHERE chain = ");
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
    if let Some(resource) = &q.resource {
        qb.push(" AND resource_type = ")
            .push_bind(resource.kind.clone());
        qb.push(" AND resource_id = ")
            .push_bind(resource.id.clone());
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
        let e = &r.event;
        b.push_bind(chain.as_str().to_owned())
            .push_bind(seq)
            .push_bind(e.id().to_string())
            .push_bind(micros(e.time()))
            .push_bind(e.actor().kind().to_owned())
            .push_bind(e.actor().id().to_owned())
            .push_bind(e.action().to_owned())
            .push_bind(e.resource().kind.clone())
            .push_bind(e.resource().id.clone())
            .push_bind(e.outcome().as_str().to_owned())
            .push_bind(e.to_json())
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
