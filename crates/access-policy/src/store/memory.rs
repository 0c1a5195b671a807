//! The in-memory policy store.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{PolicyStore, StoreSnapshot, check_document, check_link};
use crate::bundle::{PolicyDocument, TemplateLink};
use crate::error::{Error, Result};

#[derive(Debug, Default)]
struct State {
    version: u64,
    documents: BTreeMap<String, PolicyDocument>,
    links: BTreeMap<String, TemplateLink>,
}

/// A policy store in memory (always available; for tests and single-process apps).
#[derive(Debug, Default)]
pub struct MemoryPolicyStore(Mutex<State>);

impl MemoryPolicyStore {
    /// An empty store at version 0.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> Result<T>) -> Result<T> {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut state)
    }
}

#[async_trait]
impl PolicyStore for MemoryPolicyStore {
    async fn put_document(&self, doc: &PolicyDocument) -> Result<u64> {
        check_document(doc)?;
        self.with(|s| {
            s.documents.insert(doc.id.clone(), doc.clone());
            s.version += 1;
            Ok(s.version)
        })
    }

    async fn delete_document(&self, id: &str) -> Result<u64> {
        self.with(|s| {
            s.documents
                .remove(id)
                .ok_or_else(|| Error::NotFound(format!("document `{id}`")))?;
            s.version += 1;
            Ok(s.version)
        })
    }

    async fn put_link(&self, link: &TemplateLink) -> Result<u64> {
        check_link(link)?;
        self.with(|s| {
            if s.links.contains_key(&link.id) {
                return Err(Error::AlreadyExists(format!("link `{}`", link.id)));
            }
            s.links.insert(link.id.clone(), link.clone());
            s.version += 1;
            Ok(s.version)
        })
    }

    async fn delete_link(&self, id: &str) -> Result<u64> {
        self.with(|s| {
            s.links
                .remove(id)
                .ok_or_else(|| Error::NotFound(format!("link `{id}`")))?;
            s.version += 1;
            Ok(s.version)
        })
    }

    async fn snapshot(&self) -> Result<StoreSnapshot> {
        self.with(|s| {
            Ok(StoreSnapshot {
                version: s.version,
                documents: s.documents.values().cloned().collect(),
                links: s.links.values().cloned().collect(),
            })
        })
    }

    async fn version(&self) -> Result<u64> {
        self.with(|s| Ok(s.version))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::DynPolicyStore;

    #[tokio::test]
    async fn conformance() {
        crate::conformance::run_all(&MemoryPolicyStore::new()).await;
        let shared: Arc<DynPolicyStore> = Arc::new(MemoryPolicyStore::new());
        crate::conformance::run_all(&shared).await;
    }
}
