//! Folders: the `folders` table, a tree per owner.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::Result;

/// Deepest folder nesting accepted.
pub const MAX_DEPTH: usize = 64;

/// A chain longer than any the server builds (a cycle or damage left by an older version).
pub(crate) fn corrupt(id: &str) -> super::Error {
    super::Error::Corrupt(format!(
        "folder {id} has a cycle or is nested deeper than {MAX_DEPTH}: run `strongroom fsck --repair`"
    ))
}

/// A folder as stored (times in microseconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderRecord {
    /// Folder id.
    pub id: String,
    /// Owner's user id.
    pub owner_id: String,
    /// Parent folder id, `""` at the owner's root.
    pub parent_id: String,
    /// Name, unique among the folders of its parent.
    pub name: String,
    /// Readable by anyone.
    pub public: bool,
    /// Created.
    pub created_at: i64,
    /// Last changed.
    pub updated_at: i64,
    /// When it went to the trash (`None`: it is not the top of a trashed subtree).
    pub trashed_at: Option<i64>,
}

/// What a policy decision needs of a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainNode {
    /// Folder id.
    pub id: String,
    /// Owner's user id.
    pub owner_id: String,
    /// Parent folder id, `""` at the root.
    pub parent_id: String,
    /// Readable by anyone.
    pub public: bool,
    /// It is the top of a trashed subtree.
    pub trashed: bool,
}

/// A folder's place in its tree, for `strongroom fsck`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderEdge {
    /// Folder id.
    pub id: String,
    /// Owner's user id.
    pub owner_id: String,
    /// Parent folder id, `""` at the root.
    pub parent_id: String,
}

/// What a change to a folder sets; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct FolderChange {
    /// New name.
    pub name: Option<String>,
    /// New parent (`""` for the owner's root).
    pub parent_id: Option<String>,
    /// Public or private.
    pub public: Option<bool>,
}

/// The `folders` table.
///
/// Contract (checked by [`super::conformance`]): names are unique per parent among folders
/// (`Conflict`); creating in or moving into a missing parent is `NotFound`; nesting deeper than
/// [`MAX_DEPTH`] and moving a folder into itself or below itself are `Invalid`, checked inside
/// the write so that racing moves cannot together build a cycle; `delete` of a folder that holds
/// files or folders is `Conflict`, and removes the shares on it; `chain` answers in one round
/// trip and is `Corrupt` for a chain longer than [`MAX_DEPTH`] (left by an older version, see
/// `strongroom fsck`); every write records its event in the same transaction, and a refused
/// write records none.
#[async_trait]
pub trait FolderStore: Debug + Send + Sync + 'static {
    /// Creates a folder, with its event.
    async fn create(&self, folder: &FolderRecord, event: &AuditEvent) -> Result<()>;
    /// One folder.
    async fn get(&self, id: &str) -> Result<Option<FolderRecord>>;
    /// The folder and its ancestors, nearest first; empty if there is no such folder.
    async fn chain(&self, id: &str) -> Result<Vec<ChainNode>>;
    /// The folders in `parent_id` (`""` = the owner's root), by name, at most 1000.
    async fn children(&self, owner_id: &str, parent_id: &str) -> Result<Vec<FolderRecord>>;
    /// Renames, moves and/or publishes a folder at `at`, with its event.
    async fn update(
        &self,
        id: &str,
        change: &FolderChange,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()>;
    /// Deletes an empty folder and the shares on it, with its event.
    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<()>;
    /// Every folder's place in its tree.
    async fn edges(&self) -> Result<Vec<FolderEdge>>;
    /// Puts a folder at its owner's root under `name` (a repair: no cycle or depth check), with
    /// its event.
    async fn reattach(&self, id: &str, name: &str, at: i64, event: &AuditEvent) -> Result<()>;
    /// Moves a live folder, with everything below it, to the trash at `at`, with its event;
    /// `NotFound` if it is missing or already the top of a trashed subtree.
    async fn trash(&self, id: &str, at: i64, event: &AuditEvent) -> Result<()>;
    /// Takes the top of a trashed subtree out of the trash into `parent_id` (`""`: the root)
    /// under `name`, with its event. `NotFound` if it is not in the trash, `ParentGone` if the
    /// parent is gone or in the trash, `Conflict` if the name is taken there, `Invalid` if the
    /// parent now lies so deep that the subtree would nest too deep.
    async fn restore(
        &self,
        id: &str,
        parent_id: &str,
        name: &str,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()>;
    /// Folders marked as trashed, oldest first.
    async fn trashed(&self, query: &super::TrashQuery<'_>) -> Result<Vec<FolderRecord>>;
    /// Folder `id` and every folder below it, trashed or not, parents before their children
    /// (empty if it is missing).
    async fn subtree(&self, id: &str) -> Result<Vec<FolderRecord>>;
}

/// A folder store behind a pointer.
pub type DynFolderStore = dyn FolderStore;

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: FolderStore + ?Sized> FolderStore for Arc<T> {
    async fn create(&self, folder: &FolderRecord, event: &AuditEvent) -> Result<()> {
        (**self).create(folder, event).await
    }
    async fn get(&self, id: &str) -> Result<Option<FolderRecord>> {
        (**self).get(id).await
    }
    async fn chain(&self, id: &str) -> Result<Vec<ChainNode>> {
        (**self).chain(id).await
    }
    async fn children(&self, owner_id: &str, parent_id: &str) -> Result<Vec<FolderRecord>> {
        (**self).children(owner_id, parent_id).await
    }
    async fn update(
        &self,
        id: &str,
        change: &FolderChange,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        (**self).update(id, change, at, event).await
    }
    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<()> {
        (**self).delete(id, event).await
    }
    async fn edges(&self) -> Result<Vec<FolderEdge>> {
        (**self).edges().await
    }
    async fn reattach(&self, id: &str, name: &str, at: i64, event: &AuditEvent) -> Result<()> {
        (**self).reattach(id, name, at, event).await
    }
    async fn trash(&self, id: &str, at: i64, event: &AuditEvent) -> Result<()> {
        (**self).trash(id, at, event).await
    }
    async fn restore(
        &self,
        id: &str,
        parent_id: &str,
        name: &str,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        (**self).restore(id, parent_id, name, at, event).await
    }
    async fn trashed(&self, query: &super::TrashQuery<'_>) -> Result<Vec<FolderRecord>> {
        (**self).trashed(query).await
    }
    async fn subtree(&self, id: &str) -> Result<Vec<FolderRecord>> {
        (**self).subtree(id).await
    }
}
