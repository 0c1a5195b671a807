//! Where policies live: documents of Cedar text and template links, with a version.

use std::str::FromStr;

use async_trait::async_trait;
use cedar_policy::{EntityUid, PolicySet, Schema};
use serde::{Deserialize, Serialize};

use crate::bundle::{MAX_POLICY_TEXT_BYTES, PolicyBundle, PolicyDocument, TemplateLink, valid_id};
use crate::engine::PolicyEngine;
use crate::error::{Error, Result};

pub(crate) mod dir;
pub(crate) mod memory;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

/// Everything a store holds, read at one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreSnapshot {
    /// Changes whenever the contents change (memory and SQL stores count up; the directory
    /// store hashes its files).
    pub version: u64,
    /// Policy documents, by id.
    pub documents: Vec<PolicyDocument>,
    /// Template links, by id.
    pub links: Vec<TemplateLink>,
}

impl StoreSnapshot {
    /// Builds a bundle over `schema` from this snapshot (not yet validated).
    pub fn to_bundle(&self, schema: Schema) -> Result<PolicyBundle> {
        let mut b = PolicyBundle::new(schema);
        for d in &self.documents {
            b.add_document(d)?;
        }
        for l in &self.links {
            b.add_link(l.clone())?;
        }
        Ok(b)
    }
}

/// Storage for policy documents and template links. Template links are data: sharing a folder
/// is a `put_link`, not a policy edit.
///
/// Writes check what they can without a schema (the text parses, ids and uids are well formed);
/// validation against the schema happens when the engine installs the set.
#[async_trait]
pub trait PolicyStore: std::fmt::Debug + Send + Sync + 'static {
    /// Creates or replaces a document; returns the new version.
    async fn put_document(&self, doc: &PolicyDocument) -> Result<u64>;
    /// Deletes a document ([`Error::NotFound`] if absent); returns the new version.
    async fn delete_document(&self, id: &str) -> Result<u64>;
    /// Creates a link ([`Error::AlreadyExists`] if the id is taken); returns the new version.
    async fn put_link(&self, link: &TemplateLink) -> Result<u64>;
    /// Deletes a link ([`Error::NotFound`] if absent); returns the new version.
    async fn delete_link(&self, id: &str) -> Result<u64>;
    /// Everything, at one version, sorted by id.
    async fn snapshot(&self) -> Result<StoreSnapshot>;
    /// The current version (cheap: what a reloader polls).
    async fn version(&self) -> Result<u64>;
}

/// A policy store as a trait object.
pub type DynPolicyStore = dyn PolicyStore;

#[async_trait]
impl<T: PolicyStore + ?Sized> PolicyStore for std::sync::Arc<T> {
    async fn put_document(&self, doc: &PolicyDocument) -> Result<u64> {
        (**self).put_document(doc).await
    }
    async fn delete_document(&self, id: &str) -> Result<u64> {
        (**self).delete_document(id).await
    }
    async fn put_link(&self, link: &TemplateLink) -> Result<u64> {
        (**self).put_link(link).await
    }
    async fn delete_link(&self, id: &str) -> Result<u64> {
        (**self).delete_link(id).await
    }
    async fn snapshot(&self) -> Result<StoreSnapshot> {
        (**self).snapshot().await
    }
    async fn version(&self) -> Result<u64> {
        (**self).version().await
    }
}

/// Checks a document before it is stored: id, size, Cedar syntax.
pub(crate) fn check_document(doc: &PolicyDocument) -> Result<()> {
    valid_id("document", &doc.id)?;
    if doc.text.len() > MAX_POLICY_TEXT_BYTES {
        return Err(Error::InvalidInput(format!(
            "document `{}` is larger than {MAX_POLICY_TEXT_BYTES} bytes",
            doc.id
        )));
    }
    PolicySet::from_str(&doc.text).map_err(|e| Error::parse(&doc.id, &e, &doc.text))?;
    Ok(())
}

/// Checks a link before it is stored: ids and entity uids.
pub(crate) fn check_link(link: &TemplateLink) -> Result<()> {
    valid_id("link", &link.id)?;
    valid_id("template", &link.template)?;
    for uid in [&link.principal, &link.resource].into_iter().flatten() {
        EntityUid::from_str(uid).map_err(|e| Error::InvalidLink {
            link: link.id.clone(),
            reason: format!("`{uid}` is not an entity uid: {e}"),
        })?;
    }
    Ok(())
}

/// Loads `store` into `engine` over `schema` if the store's version differs from `seen`;
/// returns the store version now installed. A set that fails to build or validate is refused
/// (the engine keeps its live set) and the error is returned.
pub async fn reload_if_changed(
    store: &DynPolicyStore,
    engine: &PolicyEngine,
    schema: &Schema,
    seen: Option<u64>,
) -> Result<Option<u64>> {
    let version = store.version().await?;
    if seen == Some(version) {
        return Ok(None);
    }
    let snapshot = store.snapshot().await?;
    engine.replace(snapshot.to_bundle(schema.clone())?)?;
    Ok(Some(snapshot.version))
}

/// Polls `store` every `every` and installs changed sets into `engine` (feature `watch`).
/// Failed loads are passed to `on_error` and retried at the next change; the task ends when
/// the returned handle is aborted.
#[cfg(feature = "watch")]
pub fn spawn_reloader(
    store: std::sync::Arc<DynPolicyStore>,
    engine: std::sync::Arc<PolicyEngine>,
    schema: Schema,
    every: std::time::Duration,
    mut on_error: impl FnMut(Error) + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut seen = None;
        let mut failed_at = None;
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let version = match store.version().await {
                Ok(v) => v,
                Err(e) => {
                    on_error(e);
                    continue;
                }
            };
            if seen == Some(version) || failed_at == Some(version) {
                continue;
            }
            match reload_if_changed(&*store, &engine, &schema, seen).await {
                Ok(Some(v)) => seen = Some(v),
                Ok(None) => {}
                Err(e) => {
                    failed_at = Some(version);
                    on_error(e);
                }
            }
        }
    })
}
