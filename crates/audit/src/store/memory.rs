use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use uuid::Uuid;

use super::{AuditStore, check_anchor, check_batch};
use crate::{
    AuditQuery, AuditRecord, ChainHead, ChainId, Checkpoint, CheckpointKind, Error, Order, Result,
};

/// An [`AuditStore`] in memory: for tests, examples and single-process tools. Everything is lost
/// when it is dropped.
#[derive(Debug, Default)]
pub struct MemoryAuditStore {
    chains: Mutex<HashMap<ChainId, Chain>>,
}

#[derive(Debug)]
struct Chain {
    head: ChainHead,
    records: BTreeMap<u64, AuditRecord>,
    ids: HashSet<Uuid>,
    checkpoints: BTreeMap<u64, Checkpoint>,
    anchor: Option<Checkpoint>,
}

impl Chain {
    fn new(chain: &ChainId) -> Chain {
        Chain {
            head: ChainHead {
                seq: 0,
                hash: chain.genesis(),
            },
            records: BTreeMap::new(),
            ids: HashSet::new(),
            checkpoints: BTreeMap::new(),
            anchor: None,
        }
    }
}

impl MemoryAuditStore {
    /// An empty store.
    pub fn new() -> MemoryAuditStore {
        MemoryAuditStore::default()
    }

    fn with_chain<T>(&self, chain: &ChainId, f: impl FnOnce(&mut Chain) -> T) -> T {
        // A panic while holding the lock cannot leave a half-applied change: every mutation
        // below is checked before anything is written.
        let mut chains = self.chains.lock().unwrap_or_else(|e| e.into_inner());
        f(chains
            .entry(chain.clone())
            .or_insert_with(|| Chain::new(chain)))
    }
}

#[async_trait]
impl AuditStore for MemoryAuditStore {
    async fn head(&self, chain: &ChainId) -> Result<ChainHead> {
        Ok(self.with_chain(chain, |c| c.head))
    }

    async fn append(&self, chain: &ChainId, records: &[AuditRecord]) -> Result<()> {
        self.with_chain(chain, |c| {
            check_batch(chain, c.head, records)?;
            if let Some(dup) = records.iter().find(|r| c.ids.contains(&r.event.id())) {
                return Err(Error::DuplicateEvent { id: dup.event.id() });
            }
            for record in records {
                c.ids.insert(record.event.id());
                c.records.insert(record.seq, record.clone());
            }
            if let Some(last) = records.last() {
                c.head = last.as_head();
            }
            Ok(())
        })
    }

    async fn read(&self, chain: &ChainId, from_seq: u64, limit: usize) -> Result<Vec<AuditRecord>> {
        Ok(self.with_chain(chain, |c| {
            c.records
                .range(from_seq..)
                .take(limit)
                .map(|(_, r)| r.clone())
                .collect()
        }))
    }

    async fn query(&self, chain: &ChainId, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        query.validate()?;
        Ok(self.with_chain(chain, |c| {
            let matching = |r: &&AuditRecord| query.matches(r);
            match query.order {
                Order::OldestFirst => c
                    .records
                    .values()
                    .filter(matching)
                    .take(query.limit)
                    .cloned()
                    .collect(),
                Order::NewestFirst => c
                    .records
                    .values()
                    .rev()
                    .filter(matching)
                    .take(query.limit)
                    .cloned()
                    .collect(),
            }
        }))
    }

    async fn existing_ids(&self, chain: &ChainId, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        Ok(self.with_chain(chain, |c| {
            ids.iter()
                .filter(|id| c.ids.contains(id))
                .copied()
                .collect()
        }))
    }

    async fn put_checkpoint(&self, checkpoint: &Checkpoint) -> Result<()> {
        if checkpoint.kind != CheckpointKind::Checkpoint {
            return Err(Error::invalid("checkpoint", "anchors are stored by prune"));
        }
        self.with_chain(&checkpoint.chain, |c| {
            c.checkpoints.insert(checkpoint.seq, checkpoint.clone());
        });
        Ok(())
    }

    async fn checkpoints(
        &self,
        chain: &ChainId,
        from_seq: u64,
        to_seq: u64,
    ) -> Result<Vec<Checkpoint>> {
        if from_seq > to_seq {
            return Ok(Vec::new());
        }
        Ok(self.with_chain(chain, |c| {
            c.checkpoints
                .range(from_seq..=to_seq)
                .map(|(_, cp)| cp.clone())
                .collect()
        }))
    }

    async fn latest_checkpoint(&self, chain: &ChainId) -> Result<Option<Checkpoint>> {
        Ok(self.with_chain(chain, |c| c.checkpoints.values().next_back().cloned()))
    }

    async fn anchor(&self, chain: &ChainId) -> Result<Option<Checkpoint>> {
        Ok(self.with_chain(chain, |c| c.anchor.clone()))
    }

    async fn prune(&self, anchor: &Checkpoint) -> Result<u64> {
        self.with_chain(&anchor.chain, |c| {
            check_anchor(anchor, c.anchor.as_ref(), c.head)?;
            let kept = c.records.split_off(&(anchor.seq + 1));
            let removed = std::mem::replace(&mut c.records, kept);
            for record in removed.values() {
                c.ids.remove(&record.event.id());
            }
            c.checkpoints = c.checkpoints.split_off(&(anchor.seq + 1));
            c.anchor = Some(anchor.clone());
            Ok(removed.len() as u64)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::MemoryAuditStore;
    use crate::DynAuditStore;
    use crate::conformance;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn conformance_memory() {
        conformance::run_all(Arc::new(MemoryAuditStore::new())).await;
    }

    #[tokio::test]
    async fn conformance_memory_via_arc_dyn() {
        let store: Arc<DynAuditStore> = Arc::new(MemoryAuditStore::new());
        conformance::empty_chain(&*store).await;
        conformance::compare_and_append(&*store).await;
        conformance::query_filters(store.clone()).await;
    }
}
