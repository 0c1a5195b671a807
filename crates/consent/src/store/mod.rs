//! The storage trait behind the ledger and its backends.

use crate::error::{Error, Result};
use crate::record::{ChainRecord, GENESIS_HASH};
use async_trait::async_trait;
use std::fmt::Debug;
use std::sync::Arc;

pub(crate) mod memory;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

/// Append-only storage of per-subject hash chains.
///
/// The required core is four methods. A backend must make [`append`](ConsentStore::append)
/// atomic: of two writers racing to add record `n` to one chain, exactly one succeeds and the
/// other gets [`Error::Conflict`], so a chain can never fork. The only change ever made to a
/// stored record is [`redact`](ConsentStore::redact), which drops its payload and nothing else.
/// Every backend, and the `Arc` and `Box` wrappers, runs the `conformance` suite (feature
/// `conformance`), which checks this contract.
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
