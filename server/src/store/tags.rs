//! Tags: each owner's vocabulary (the `tags` table) and what carries them (`file_tags`,
//! `folder_tags`).

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::Result;

/// A tag as stored (times in microseconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRecord {
    /// Tag id.
    pub id: String,
    /// The person or team whose vocabulary it is in.
    pub owner_id: String,
    /// Name as given; unique per owner regardless of case.
    pub name: String,
    /// Display colour (`#rrggbb`), if any.
    pub colour: Option<String>,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: i64,
}

/// A tag and how much carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagUse {
    /// The tag.
    pub tag: TagRecord,
    /// Files tagged (trash included).
    pub files: u64,
    /// Folders tagged (trash included).
    pub folders: u64,
}

/// A file or a folder, by id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Item {
    /// A file.
    File(String),
    /// A folder.
    Folder(String),
}

impl Item {
    /// `file` or `folder`.
    pub fn kind(&self) -> &'static str {
        match self {
            Item::File(_) => "file",
            Item::Folder(_) => "folder",
        }
    }

    /// The id.
    pub fn id(&self) -> &str {
        match self {
            Item::File(id) | Item::Folder(id) => id,
        }
    }
}

/// The tag tables.
///
/// Contract (checked by [`super::conformance`]): a name is unique in its owner's vocabulary
/// regardless of case (`Conflict`, [`TAG_TAKEN`](super::TAG_TAKEN)); `update`, `delete`, `apply`
/// and `remove` of a missing tag are `NotFound`; `apply` is `NotFound` when an item does not
/// exist and `Invalid` when an item is not the tag owner's (then nothing is tagged), and counts
/// only the items newly tagged; `remove` counts the items it untagged; deleting a tag, file or
/// folder removes its taggings. Every write records its event in the same transaction.
#[async_trait]
pub trait TagStore: Debug + Send + Sync + 'static {
    /// Creates a tag, with its event.
    async fn create(&self, tag: &TagRecord, event: &AuditEvent) -> Result<()>;
    /// One tag.
    async fn get(&self, id: &str) -> Result<Option<TagRecord>>;
    /// An owner's tags by name (case-insensitive), in name order, with their use.
    async fn vocabulary(&self, owner_id: &str) -> Result<Vec<TagUse>>;
    /// Renames a tag and/or sets its colour (`Some(None)` clears it), with its event.
    async fn update(
        &self,
        id: &str,
        name: Option<&str>,
        colour: Option<Option<&str>>,
        event: &AuditEvent,
    ) -> Result<()>;
    /// Deletes a tag and its taggings, with its event.
    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<()>;
    /// Tags `items` with the tag, with its event; how many were not tagged before.
    async fn apply(
        &self,
        tag_id: &str,
        items: &[Item],
        by: &str,
        at: i64,
        event: &AuditEvent,
    ) -> Result<u64>;
    /// Untags `items`, with its event; how many carried the tag.
    async fn remove(&self, tag_id: &str, items: &[Item], event: &AuditEvent) -> Result<u64>;
    /// The tags on each of these files and folders (ids), in name order.
    async fn of_items(&self, ids: &[&str]) -> Result<HashMap<String, Vec<TagRecord>>>;
    /// What carries the tag, in (kind, id) order, at most `limit` after `after`.
    async fn items(&self, tag_id: &str, after: Option<&Item>, limit: u32) -> Result<Vec<Item>>;
}

/// A tag store behind a pointer.
pub type DynTagStore = dyn TagStore;

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: TagStore + ?Sized> TagStore for Arc<T> {
    async fn create(&self, tag: &TagRecord, event: &AuditEvent) -> Result<()> {
        (**self).create(tag, event).await
    }
    async fn get(&self, id: &str) -> Result<Option<TagRecord>> {
        (**self).get(id).await
    }
    async fn vocabulary(&self, owner_id: &str) -> Result<Vec<TagUse>> {
        (**self).vocabulary(owner_id).await
    }
    async fn update(
        &self,
        id: &str,
        name: Option<&str>,
        colour: Option<Option<&str>>,
        event: &AuditEvent,
    ) -> Result<()> {
        (**self).update(id, name, colour, event).await
    }
    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<()> {
        (**self).delete(id, event).await
    }
    async fn apply(
        &self,
        tag_id: &str,
        items: &[Item],
        by: &str,
        at: i64,
        event: &AuditEvent,
    ) -> Result<u64> {
        (**self).apply(tag_id, items, by, at, event).await
    }
    async fn remove(&self, tag_id: &str, items: &[Item], event: &AuditEvent) -> Result<u64> {
        (**self).remove(tag_id, items, event).await
    }
    async fn of_items(&self, ids: &[&str]) -> Result<HashMap<String, Vec<TagRecord>>> {
        (**self).of_items(ids).await
    }
    async fn items(&self, tag_id: &str, after: Option<&Item>, limit: u32) -> Result<Vec<Item>> {
        (**self).items(tag_id, after, limit).await
    }
}
