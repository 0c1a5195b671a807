use std::fmt::Debug;

use async_trait::async_trait;
use uuid::Uuid;

use crate::{
    AuditEvent, AuditQuery, AuditRecord, ChainHead, ChainId, Checkpoint, CheckpointKind, Error,
    Result, TamperKind,
};

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
///
/// A store keeps, next to each record, the columns its queries filter on (actor, resource,
/// action, outcome, time, event id). Those are copies of fields of the hashed event, so they
/// could be edited without breaking the hash: [`read`](AuditStore::read) and
/// [`query`](AuditStore::query) must compare them with the event of every row they return and
/// fail with [`Error::Tampered`] and [`TamperKind::ColumnMismatch`] on a difference (the shared
/// `Columns` helper does this for the built-in backends).
#[async_trait]
pub trait AuditStore: Debug + Send + Sync + 'static {
    /// The chain's newest position; `seq == 0` and the genesis digest for a chain never written.
    async fn head(&self, chain: &ChainId) -> Result<ChainHead>;

    /// The signature stored with the head by the last [`append`](AuditStore::append): a
    /// [`CheckpointKind::Head`] checkpoint, as given to `append` (whether it matches the head is
    /// for [`AuditLog::verify`](crate::AuditLog::verify) to check). `None` for a chain never
    /// written, or whose head was written before heads were signed.
    async fn signed_head(&self, chain: &ChainId) -> Result<Option<Checkpoint>>;

    /// Appends consecutive records atomically, together with `head`, the signed statement of the
    /// new head (kind [`CheckpointKind::Head`], `seq` and hash of the last record; else
    /// [`Error::Invalid`]). The first record must link to the current head
    /// (`seq == head.seq + 1`, `prev_hash == head.hash`), else [`Error::Conflict`] and nothing is
    /// written; each following record must link to the one before it ([`Error::Invalid`]); an event
    /// id already in the chain gives [`Error::DuplicateEvent`]. Hashes and signatures are not
    /// checked here.
    async fn append(
        &self,
        chain: &ChainId,
        records: &[AuditRecord],
        head: &Checkpoint,
    ) -> Result<()>;

    /// Up to `limit` records with `seq >= from_seq`, in sequence order.
    async fn read(&self, chain: &ChainId, from_seq: u64, limit: usize) -> Result<Vec<AuditRecord>>;

    /// Up to `query.limit` records matching the query's filters, after its cursor, in its order.
    /// The filters may run on the stored columns; every returned row is checked against its
    /// event (see above).
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

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: AuditStore + ?Sized> AuditStore for std::sync::Arc<T> {
    async fn head(&self, chain: &ChainId) -> Result<ChainHead> {
        (**self).head(chain).await
    }
    async fn signed_head(&self, chain: &ChainId) -> Result<Option<Checkpoint>> {
        (**self).signed_head(chain).await
    }
    async fn append(
        &self,
        chain: &ChainId,
        records: &[AuditRecord],
        head: &Checkpoint,
    ) -> Result<()> {
        (**self).append(chain, records, head).await
    }
    async fn read(&self, chain: &ChainId, from_seq: u64, limit: usize) -> Result<Vec<AuditRecord>> {
        (**self).read(chain, from_seq, limit).await
    }
    async fn query(&self, chain: &ChainId, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        (**self).query(chain, query).await
    }
    async fn existing_ids(&self, chain: &ChainId, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        (**self).existing_ids(chain, ids).await
    }
    async fn put_checkpoint(&self, checkpoint: &Checkpoint) -> Result<()> {
        (**self).put_checkpoint(checkpoint).await
    }
    async fn checkpoints(
        &self,
        chain: &ChainId,
        from_seq: u64,
        to_seq: u64,
    ) -> Result<Vec<Checkpoint>> {
        (**self).checkpoints(chain, from_seq, to_seq).await
    }
    async fn latest_checkpoint(&self, chain: &ChainId) -> Result<Option<Checkpoint>> {
        (**self).latest_checkpoint(chain).await
    }
    async fn anchor(&self, chain: &ChainId) -> Result<Option<Checkpoint>> {
        (**self).anchor(chain).await
    }
    async fn prune(&self, anchor: &Checkpoint) -> Result<u64> {
        (**self).prune(anchor).await
    }
}

/// The columns stored next to a record for its queries to filter on: copies of fields of the
/// hashed event, so they are derived from it on insert and compared with it on every read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Columns {
    pub(crate) event_id: String,
    pub(crate) time_us: i64,
    pub(crate) actor_kind: String,
    pub(crate) actor_id: String,
    pub(crate) action: String,
    pub(crate) resource_type: String,
    pub(crate) resource_id: String,
    pub(crate) outcome: String,
}

impl Columns {
    /// The columns of `event`.
    pub(crate) fn of(event: &AuditEvent) -> Columns {
        Columns {
            event_id: event.id().to_string(),
            time_us: event.time().as_microsecond(),
            actor_kind: event.actor().kind().to_owned(),
            actor_id: event.actor().id().to_owned(),
            action: event.action().to_owned(),
            resource_type: event.resource().kind.clone(),
            resource_id: event.resource().id.clone(),
            outcome: event.outcome().as_str().to_owned(),
        }
    }

    /// The first column that differs from `event`'s, if any.
    pub(crate) fn mismatch(&self, event: &AuditEvent) -> Option<&'static str> {
        let want = Columns::of(event);
        [
            ("event_id", self.event_id == want.event_id),
            ("time_us", self.time_us == want.time_us),
            ("actor_kind", self.actor_kind == want.actor_kind),
            ("actor_id", self.actor_id == want.actor_id),
            ("action", self.action == want.action),
            ("resource_type", self.resource_type == want.resource_type),
            ("resource_id", self.resource_id == want.resource_id),
            ("outcome", self.outcome == want.outcome),
        ]
        .into_iter()
        .find_map(|(column, same)| (!same).then_some(column))
    }

    /// `Ok` when the columns are `event`'s; else the tampering, named by column.
    pub(crate) fn check(&self, seq: u64, event: &AuditEvent) -> Result<()> {
        match self.mismatch(event) {
            None => Ok(()),
            Some(column) => Err(Error::Tampered {
                seq,
                problem: TamperKind::ColumnMismatch { column },
            }),
        }
    }
}

/// Checks a signed head given to `append` against the batch's last record.
fn check_head(chain: &ChainId, records: &[AuditRecord], head: &Checkpoint) -> Result<()> {
    let last = records.last().map(AuditRecord::as_head);
    if head.kind != CheckpointKind::Head
        || &head.chain != chain
        || last.is_none_or(|last| last.seq != head.seq || last.hash != head.head)
    {
        return Err(Error::invalid(
            "head",
            "must be a signed head of this chain naming the batch's last record",
        ));
    }
    Ok(())
}

/// Checks the shape of a batch (and its signed head) against the head it should extend: shared
/// by every backend.
pub(crate) fn check_batch(
    chain: &ChainId,
    head: ChainHead,
    records: &[AuditRecord],
    signed: &Checkpoint,
) -> Result<()> {
    let Some(first) = records.first() else {
        return Err(Error::invalid("records", "empty batch"));
    };
    check_head(chain, records, signed)?;
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
