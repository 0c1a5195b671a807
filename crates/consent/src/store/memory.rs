use crate::error::{Error, Result};
use crate::record::ChainRecord;
use crate::store::{ConsentStore, check_appendable};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// A [`ConsentStore`] in process memory: for tests, examples and single-process tools.
/// Everything is lost when it is dropped.
#[derive(Default)]
pub struct MemoryConsentStore {
    chains: Mutex<HashMap<String, Vec<ChainRecord>>>,
}

/// Shows sizes only: the records hold personal data, which has no place in logs.
impl std::fmt::Debug for MemoryConsentStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let chains = self.lock();
        f.debug_struct("MemoryConsentStore")
            .field("chains", &chains.len())
            .field("records", &chains.values().map(Vec::len).sum::<usize>())
            .finish()
    }
}

impl MemoryConsentStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Vec<ChainRecord>>> {
        // A panic elsewhere cannot leave a half-applied append: each mutation is one push or
        // one field assignment, so a poisoned map is still consistent.
        self.chains.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Edit a stored record in place, bypassing every rule; only for tamper tests.
    #[cfg(test)]
    pub(crate) fn tamper(&self, chain: &str, seq: u64, edit: impl FnOnce(&mut ChainRecord)) {
        if let Some(r) = self
            .lock()
            .get_mut(chain)
            .and_then(|c| c.iter_mut().find(|r| r.seq == seq))
        {
            edit(r);
        }
    }
}

#[async_trait]
impl ConsentStore for MemoryConsentStore {
    async fn append(&self, record: &ChainRecord) -> Result<()> {
        check_appendable(record)?;
        let mut chains = self.lock();
        let chain = chains.entry(record.chain.clone()).or_default();
        let links = match chain.last() {
            None => record.seq == 1,
            Some(last) => record.seq == last.seq + 1 && record.prev_hash == last.hash,
        };
        if !links {
            return Err(Error::Conflict {
                chain: record.chain.clone(),
                seq: record.seq,
            });
        }
        chain.push(record.clone());
        Ok(())
    }

    async fn read(&self, chain: &str, from_seq: u64) -> Result<Vec<ChainRecord>> {
        Ok(self
            .lock()
            .get(chain)
            .map(|c| c.iter().filter(|r| r.seq >= from_seq).cloned().collect())
            .unwrap_or_default())
    }

    async fn head(&self, chain: &str) -> Result<Option<ChainRecord>> {
        Ok(self.lock().get(chain).and_then(|c| c.last().cloned()))
    }

    async fn redact(&self, chain: &str, seqs: &[u64]) -> Result<u64> {
        let mut chains = self.lock();
        let Some(records) = chains.get_mut(chain) else {
            return Ok(0);
        };
        let mut dropped = 0;
        for r in records.iter_mut().filter(|r| seqs.contains(&r.seq)) {
            if r.payload.take().is_some() {
                dropped += 1;
            }
        }
        Ok(dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance;
    use crate::store::DynConsentStore;
    use std::sync::Arc;

    #[tokio::test]
    async fn debug_output_holds_no_personal_data() {
        let store = MemoryConsentStore::new();
        let record = ChainRecord::seal(
            "chain",
            1,
            jiff::Timestamp::UNIX_EPOCH,
            crate::RecordKind::Granted,
            crate::RecordHeader::default(),
            serde_json::json!({ "subject": "alice@example.com" }),
            crate::GENESIS_HASH,
        )
        .expect("seal");
        store.append(&record).await.expect("append");
        let shown = format!("{store:?}");
        assert_eq!(shown, "MemoryConsentStore { chains: 1, records: 1 }");
    }

    #[tokio::test]
    async fn conformance() {
        conformance::run_all(Arc::new(MemoryConsentStore::new())).await;
    }

    #[tokio::test]
    async fn conformance_through_box_dyn() {
        let boxed: Box<DynConsentStore> = Box::new(MemoryConsentStore::new());
        conformance::run_all(Arc::new(boxed)).await;
    }

    #[tokio::test]
    async fn conformance_through_arc_dyn() {
        let shared: Arc<DynConsentStore> = Arc::new(MemoryConsentStore::new());
        conformance::run_all(Arc::new(shared)).await;
    }

    #[tokio::test]
    async fn verify_names_first_broken_record() {
        let store = Arc::new(MemoryConsentStore::new());
        let handle = store.clone();
        conformance::verify_names_first_broken_record(store, async move |chain, seq| {
            handle.tamper(&chain, seq, |r| r.header.purpose = Some("forged".into()));
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn spawned_grants_form_one_chain() {
        conformance::spawned_grants_form_one_chain(Arc::new(MemoryConsentStore::new())).await;
    }
}
