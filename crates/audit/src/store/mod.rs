use std::fmt::Debug;

use async_trait::async_trait;
use uuid::Uuid;

use crate::{AuditQuery, AuditRecord, ChainHead, ChainId, Checkpoint, Error, Result};

pub(crate) mod memory;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) mod sql;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

/// Where chained audit records, checkpoints and retention anchors are kept.
///
/// Implementations are storage only: linking and hashing happen in [`AuditLog`](crate::AuditLog),
/// which is what applications use. The one rule a store enforces is the chain's shape:
/// [`append`](AuditStore::append) is a compare-and-append against the current head, atomic for the
/// whole batch, so two writers (in one process or many) can never fork a chain.
#[async_trait]
pub trait AuditStore: Debug + Send + Sync + 'static {
    /// The chain's newest position; `seq == 0` and the genesis digest for a chain never written.
    async fn head(&self, chain: &ChainId) -> Result<ChainHead>;

    /// Appends consecutive records atomically. The first must link to the current head
    /// (`seq == head.seq + 1`, `prev_hash == head.hash`), else [`Error::Conflict`] and nothing is
    /// written; each following record must link to the one before it ([`Error::Invalid`]); an event
    /// id already in the chain gives [`Error::DuplicateEvent`]. Hashes are not recomputed here.
    async fn append(&self, chain: &ChainId, records: &[AuditRecord]) -> Result<()>;

    /// Up to `limit` records with `seq >= from_seq`, in sequence order.
    async fn read(&self, chain: &ChainId, from_seq: u64, limit: usize) -> Result<Vec<AuditRecord>>;

    /// Up to `query.limit` records matching the query's filters, after its cursor, in its order.
    async fn query(&self, chain: &ChainId, query: &AuditQuery) -> Result<Vec<AuditRecord>>;

    /// Which of `ids` are already stored in the chain.
    async fn existing_ids(&self, chain: &ChainId, ids: &[Uuid]) -> Result<Vec<Uuid>>;

    /// Stores a signed checkpoint (kind [`Checkpoint`](crate::CheckpointKind::Checkpoint));
    /// storing the same one twice is not an error.
    async fn put_checkpoint(&self, checkpoint: &Checkpoint) -> Result<()>;

    /// Checkpoints with `from_seq <= seq <= to_seq`, in sequence order.
    async fn checkpoints(
        &self,
        chain: &ChainId,
        from_seq: u64,
        to_seq: u64,
    ) -> Result<Vec<Checkpoint>>;

    /// The checkpoint with the highest `seq`, if any.
    async fn latest_checkpoint(&self, chain: &ChainId) -> Result<Option<Checkpoint>>;

    /// The retention anchor: where the chain now starts, if records were ever pruned.
    async fn anchor(&self, chain: &ChainId) -> Result<Option<Checkpoint>>;

    /// Atomically deletes records and checkpoints with `seq <= anchor.seq` and stores `anchor` as
    /// the chain's new start. Returns how many records were deleted. An anchor not newer than the
    /// current one is refused with [`Error::Conflict`].
    async fn prune(&self, anchor: &Checkpoint) -> Result<u64>;
}

/// `dyn AuditStore`, for `Arc<DynAuditStore>`.
pub type DynAuditStore = dyn AuditStore;

/// Checks the shape of a batch against the head it should extend: shared by every backend.
pub(crate) fn check_batch(chain: &ChainId, head: ChainHead, records: &[AuditRecord]) -> Result<()> {
    let Some(first) = records.first() else {
        return Err(Error::invalid("records", "empty batch"));
    };
    if first.seq != head.seq + 1 || first.prev_hash != head.hash {
        return Err(Error::Conflict {
            chain: chain.to_string(),
        });
    }
    for pair in records.windows(2) {
        if pair[1].seq != pair[0].seq + 1 || pair[1].prev_hash != pair[0].hash {
            return Err(Error::invalid(
                "records",
                "records in a batch must link to each other",
            ));
        }
    }
    let mut ids: Vec<Uuid> = records.iter().map(|r| r.event.id()).collect();
    ids.sort_unstable();
    if let Some(pair) = ids.windows(2).find(|p| p[0] == p[1]) {
        return Err(Error::DuplicateEvent { id: pair[0] });
    }
    Ok(())
}

/// Checks that `anchor` can replace `current` as the start of a chain whose head is `head`.
pub(crate) fn check_anchor(
    anchor: &Checkpoint,
    current: Option<&Checkpoint>,
    head: ChainHead,
) -> Result<()> {
    if anchor.kind != crate::CheckpointKind::Anchor {
        return Err(Error::invalid("anchor", "must be of kind Anchor"));
    }
    if anchor.seq > head.seq {
        return Err(Error::invalid("anchor", "is beyond the chain's head"));
    }
    if current.is_some_and(|c| c.seq >= anchor.seq) {
        return Err(Error::Conflict {
            chain: anchor.chain.to_string(),
        });
    }
    Ok(())
}
