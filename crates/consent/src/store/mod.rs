//! The storage trait behind the ledger and its backends.

use crate::error::{Error, Result};
use crate::record::{ChainRecord, GENESIS_HASH};
use async_trait::async_trait;
use std::fmt::Debug;
use std::sync::Arc;

pub(crate) mod memory;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

/// Append-only storage of per-subject hash chains.
///
/// The required core is four methods. A backend must make [`append`](ConsentStore::append)
/// atomic: of two writers racing to add record `n` to one chain, exactly one succeeds and the
/// other gets [`Error::Conflict`], so a chain can never fork. The only change ever made to a
/// stored record is [`redact`](ConsentStore::redact), which drops its payload and nothing else.
#[async_trait]
pub trait ConsentStore: Debug + Send + Sync + 'static {
    /// Append `record` to `record.chain`. Fails with [`Error::Conflict`] unless `record.seq` is
    /// one past the chain's last record and `record.prev_hash` is that record's hash
    /// ([`GENESIS_HASH`] and `seq == 1` for an empty chain).
    async fn append(&self, record: &ChainRecord) -> Result<()>;

    /// The records of `chain` with `seq >= from_seq`, in sequence order (empty for an unknown
    /// chain).
    async fn read(&self, chain: &str, from_seq: u64) -> Result<Vec<ChainRecord>>;

    /// The last record of `chain`, if any.
    async fn head(&self, chain: &str) -> Result<Option<ChainRecord>>;

    /// Drop the payloads of the records `seqs` of `chain`, leaving every other field as it was.
    /// Returns how many payloads were dropped (already-dropped ones do not count).
    async fn redact(&self, chain: &str, seqs: &[u64]) -> Result<u64>;
}

/// A type-erased [`ConsentStore`].
pub type DynConsentStore = dyn ConsentStore;

/// Helpers over any [`ConsentStore`].
#[async_trait]
pub trait ConsentStoreExt: ConsentStore {
    /// Every record of `chain`, in order.
    async fn read_all(&self, chain: &str) -> Result<Vec<ChainRecord>> {
        self.read(chain, 1).await
    }
}

impl<T: ConsentStore + ?Sized> ConsentStoreExt for T {}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: ConsentStore + ?Sized> ConsentStore for Arc<T> {
    async fn append(&self, record: &ChainRecord) -> Result<()> {
        (**self).append(record).await
    }
    async fn read(&self, chain: &str, from_seq: u64) -> Result<Vec<ChainRecord>> {
        (**self).read(chain, from_seq).await
    }
    async fn head(&self, chain: &str) -> Result<Option<ChainRecord>> {
        (**self).head(chain).await
    }
    async fn redact(&self, chain: &str, seqs: &[u64]) -> Result<u64> {
        (**self).redact(chain, seqs).await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: ConsentStore + ?Sized> ConsentStore for Box<T> {
    async fn append(&self, record: &ChainRecord) -> Result<()> {
        (**self).append(record).await
    }
    async fn read(&self, chain: &str, from_seq: u64) -> Result<Vec<ChainRecord>> {
        (**self).read(chain, from_seq).await
    }
    async fn head(&self, chain: &str) -> Result<Option<ChainRecord>> {
        (**self).head(chain).await
    }
    async fn redact(&self, chain: &str, seqs: &[u64]) -> Result<u64> {
        (**self).redact(chain, seqs).await
    }
}

/// Checks every backend applies before writing: a first record links to genesis.
pub(crate) fn check_appendable(record: &ChainRecord) -> Result<()> {
    let conflict = || Error::Conflict {
        chain: record.chain.clone(),
        seq: record.seq,
    };
    if record.chain.is_empty() || record.seq == 0 || record.seq > i64::MAX as u64 {
        return Err(crate::error::invalid(
            "record",
            "chain must be named and seq must be in 1..=i64::MAX",
        ));
    }
    if record.seq == 1 && record.prev_hash != GENESIS_HASH {
        return Err(conflict());
    }
    Ok(())
}

/// Map a u64 sequence number to the i64 SQL databases store.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn seq_to_sql(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// A stored row, in the column types both SQL backends share.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[derive(Debug)]
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

#[cfg(any(feature = "sqlite", feature = "postgres"))]
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
            kind: crate::record::RecordKind::parse(&self.kind)?,
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

#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Corrupt {
        reason: format!("cannot encode record: {e}"),
    })
}

/// Map a database error: unique violations mean another writer won the race.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn map_sqlx(e: sqlx::Error, chain: &str, seq: u64) -> Error {
    match &e {
        sqlx::Error::RowNotFound => Error::NotFound {
            what: format!("record {seq} of chain {chain}"),
        },
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::Conflict {
            chain: chain.to_owned(),
            seq,
        },
        _ => Error::Storage(crate::error::StorageError::new(e)),
    }
}
