use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use uuid::Uuid;

use super::{AuditStore, Columns, check_anchor, check_batch};
use crate::{
    AuditQuery, AuditRecord, ChainHead, ChainId, Checkpoint, CheckpointKind, Error, Order, Result,
};

/// An [`AuditStore`] in memory: for tests, examples and single-process tools. Everything is lost
/// when it is dropped.
///
/// It keeps rows the way the SQL stores do (each record with the columns its queries filter on),
/// so that the conformance suite can edit them behind the log's back on every backend.
#[derive(Debug, Default)]
pub struct MemoryAuditStore {
    chains: Mutex<HashMap<ChainId, Chain>>,
}

#[derive(Debug)]
struct Chain {
    head: ChainHead,
    signed_head: Option<Checkpoint>,
    rows: BTreeMap<u64, Row>,
    ids: HashSet<String>,
    checkpoints: BTreeMap<u64, Checkpoint>,
    anchor: Option<Checkpoint>,
}

#[derive(Debug, Clone)]
struct Row {
    record: AuditRecord,
    columns: Columns,
}

impl Row {
    fn checked(&self) -> Result<AuditRecord> {
        self.columns.check(self.record.seq, &self.record.event)?;
        Ok(self.record.clone())
    }
}

impl Chain {
    fn new(chain: &ChainId) -> Chain {
        Chain {
            head: ChainHead {
                seq: 0,
                hash: chain.genesis(),
            },
            signed_head: None,
            rows: BTreeMap::new(),
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

    async fn signed_head(&self, chain: &ChainId) -> Result<Option<Checkpoint>> {
        Ok(self.with_chain(chain, |c| c.signed_head.clone()))
    }

    async fn append(
        &self,
        chain: &ChainId,
        records: &[AuditRecord],
        head: &Checkpoint,
    ) -> Result<()> {
        self.with_chain(chain, |c| {
            check_batch(chain, c.head, records, head)?;
            if let Some(dup) = records
                .iter()
                .find(|r| c.ids.contains(&r.event.id().to_string()))
            {
                return Err(Error::DuplicateEvent { id: dup.event.id() });
            }
            for record in records {
                let columns = Columns::of(&record.event);
                c.ids.insert(columns.event_id.clone());
                c.rows.insert(
                    record.seq,
                    Row {
                        record: record.clone(),
                        columns,
                    },
                );
            }
            if let Some(last) = records.last() {
                c.head = last.as_head();
            }
            c.signed_head = Some(head.clone());
            Ok(())
        })
    }

    async fn read(&self, chain: &ChainId, from_seq: u64, limit: usize) -> Result<Vec<AuditRecord>> {
        self.with_chain(chain, |c| {
            c.rows
                .range(from_seq..)
                .take(limit)
                .map(|(_, row)| row.checked())
                .collect()
        })
    }

    async fn query(&self, chain: &ChainId, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        query.validate()?;
        self.with_chain(chain, |c| {
            // Filter on the stored columns, as the SQL stores do, then check what is returned.
            let matching = |row: &&Row| query.matches_columns(row.record.seq, &row.columns);
            let rows: Vec<&Row> = match query.order {
                Order::OldestFirst => c.rows.values().filter(matching).take(query.limit).collect(),
                Order::NewestFirst => c
                    .rows
                    .values()
                    .rev()
                    .filter(matching)
                    .take(query.limit)
                    .collect(),
            };
            rows.into_iter().map(Row::checked).collect()
        })
    }

    async fn existing_ids(&self, chain: &ChainId, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        Ok(self.with_chain(chain, |c| {
            ids.iter()
                .filter(|id| c.ids.contains(&id.to_string()))
                .copied()
                .collect()
        }))
    }

    async fn put_checkpoint(&self, checkpoint: &Checkpoint) -> Result<()> {
        if checkpoint.kind != CheckpointKind::Checkpoint {
            return Err(Error::invalid(
                "checkpoint",
                "anchors are stored by prune, heads by append",
            ));
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
            let kept = c.rows.split_off(&(anchor.seq + 1));
            let removed = std::mem::replace(&mut c.rows, kept);
            for row in removed.values() {
                c.ids.remove(&row.columns.event_id);
            }
            c.checkpoints = c.checkpoints.split_off(&(anchor.seq + 1));
            c.anchor = Some(anchor.clone());
            Ok(removed.len() as u64)
        })
    }
}

/// Direct edits of the stored rows, as an attacker with write access to the database makes them
/// (the SQL stores are edited with SQL by their tests).
#[cfg(any(feature = "conformance", test))]
#[async_trait]
impl crate::conformance::Tamper for MemoryAuditStore {
    async fn set_column(
        &self,
        chain: &ChainId,
        seq: u64,
        column: &'static str,
        value: crate::conformance::ColumnValue,
    ) {
        use crate::conformance::ColumnValue::{Bytes, Int, Text};
        self.with_chain(chain, |c| {
            let row = c.rows.get_mut(&seq).expect("the record exists");
            let cols = &mut row.columns;
            match (column, value) {
                ("event_id", Text(v)) => {
                    c.ids.remove(&cols.event_id);
                    c.ids.insert(v.clone());
                    cols.event_id = v;
                }
                ("time_us", Int(v)) => cols.time_us = v,
                ("actor_kind", Text(v)) => cols.actor_kind = v,
                ("actor_id", Text(v)) => cols.actor_id = v,
                ("action", Text(v)) => cols.action = v,
                ("resource_type", Text(v)) => cols.resource_type = v,
                ("resource_id", Text(v)) => cols.resource_id = v,
                ("outcome", Text(v)) => cols.outcome = v,
                ("event", Text(v)) => {
                    row.record.event = crate::AuditEvent::from_json(&v).expect("valid event JSON");
                }
                ("prev_hash", Bytes(v)) => {
                    row.record.prev_hash = crate::Digest(v.try_into().expect("32 bytes"));
                }
                ("hash", Bytes(v)) => {
                    row.record.hash = crate::Digest(v.try_into().expect("32 bytes"))
                }
                (column, value) => panic!("cannot set {column} to {value:?}"),
            }
        });
    }

    async fn delete_from(&self, chain: &ChainId, from_seq: u64) {
        self.with_chain(chain, |c| {
            for row in c.rows.split_off(&from_seq).into_values() {
                c.ids.remove(&row.columns.event_id);
            }
            c.checkpoints.split_off(&from_seq);
        });
    }

    async fn set_head(&self, chain: &ChainId, seq: u64, hash: crate::Digest) {
        // As in the SQL head row: seq and hash change, the signature columns stay.
        self.with_chain(chain, |c| {
            c.head = ChainHead { seq, hash };
            if let Some(signed) = &mut c.signed_head {
                signed.seq = seq;
                signed.head = hash;
            }
        });
    }

    async fn restore_head(&self, head: &Checkpoint) {
        self.with_chain(&head.chain, |c| {
            c.head = ChainHead {
                seq: head.seq,
                hash: head.head,
            };
            c.signed_head = Some(head.clone());
        });
    }

    async fn empty(&self, chain: &ChainId) {
        let mut chains = self.chains.lock().unwrap_or_else(|e| e.into_inner());
        chains.remove(chain);
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
        let store = Arc::new(MemoryAuditStore::new());
        conformance::run_all(store.clone()).await;
        conformance::tampering_is_detected(store.clone(), store).await;
    }

    #[tokio::test]
    async fn conformance_memory_via_arc_dyn() {
        let store: Arc<DynAuditStore> = Arc::new(MemoryAuditStore::new());
        conformance::empty_chain(&*store).await;
        conformance::compare_and_append(&*store).await;
        conformance::query_filters(store.clone()).await;
    }
}
