//! File metadata: the `files` table.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::folders::ChainNode;
use super::{Quota, Result};

/// A file as stored (times in microseconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// File id.
    pub id: String,
    /// Owner's user id.
    pub owner_id: String,
    /// Folder id, `""` at the owner's root.
    pub folder_id: String,
    /// Name, unique in its folder among files.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type.
    pub content_type: String,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// file-verifier signature.
    pub signature: String,
    /// Where the content is in the blob store.
    pub blob_key: String,
    /// Readable by anyone.
    pub public: bool,
    /// The current version's number (1 for a new file).
    pub version: i64,
    /// Created.
    pub created_at: i64,
    /// Last changed.
    pub updated_at: i64,
    /// When it went to the trash (`None`: it is live). A file in a trashed folder is not marked
    /// itself: its folder chain says so.
    pub trashed_at: Option<i64>,
}

/// A file with the folders above it, nearest first: everything a policy decision on it needs
/// besides the shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The file.
    pub file: FileRecord,
    /// Its folder and that folder's ancestors, nearest first (empty at the root).
    pub folders: Vec<ChainNode>,
}

/// The order of a listing (ties broken by id, in the same direction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FileOrder {
    /// By name.
    #[default]
    Name,
    /// By creation time.
    Created,
    /// By last change.
    Updated,
    /// By size.
    Size,
}

/// One page of one folder's files.
#[derive(Debug, Clone, Copy)]
pub struct FileQuery<'a> {
    /// The owner of the folder.
    pub owner_id: &'a str,
    /// The folder, `""` for the owner's root.
    pub folder_id: &'a str,
    /// Sort key.
    pub order: FileOrder,
    /// Descending.
    pub desc: bool,
    /// Rows at most.
    pub limit: u32,
    /// Rows to skip.
    pub offset: u64,
}

/// What a change to a file sets; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct FileChange {
    /// New name.
    pub name: Option<String>,
    /// New folder (`""` for the root).
    pub folder_id: Option<String>,
    /// Public or private.
    pub public: Option<bool>,
}

/// The `files` table.
///
/// Contract (checked by [`super::conformance`]): names are unique per folder among files
/// (`Conflict` naming the file name rule); `insert` and a move into a folder that does not exist
/// (or is deleted at the same moment) are `NotFound`, and a folder being deleted waits for them;
/// `insert` records the content as version 1 (see [`super::VersionStore`]); `locate` answers in
/// one round trip; `delete` also removes the shares, links and versions of the file and returns
/// the blobs they used;
/// every write records its event in the same transaction, and a refused write records none.
#[async_trait]
pub trait FileStore: Debug + Send + Sync + 'static {
    /// Records a new file (its blob already stored) and its search document (`words`: see
    /// [`super::search::word_list`]), with its event.
    async fn insert(
        &self,
        file: &FileRecord,
        words: &str,
        quota: &Quota,
        event: &AuditEvent,
    ) -> Result<()>;
    /// One file.
    async fn get(&self, id: &str) -> Result<Option<FileRecord>>;
    /// One file and the folders above it, in one round trip.
    async fn locate(&self, id: &str) -> Result<Option<Located>>;
    /// [`FileStore::locate`] for many files in one round trip, in no particular order (missing
    /// ones left out).
    async fn locate_many(&self, ids: &[&str]) -> Result<Vec<Located>>;
    /// A page of a folder's files.
    async fn list(&self, query: &FileQuery<'_>) -> Result<Vec<FileRecord>>;
    /// The file named `name` in `folder_id` (`""`: the root) of `owner_id`.
    async fn find_named(
        &self,
        owner_id: &str,
        folder_id: &str,
        name: &str,
    ) -> Result<Option<FileRecord>>;
    /// Changes a file at `at`, with its event.
    async fn update(
        &self,
        id: &str,
        change: &FileChange,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()>;
    /// Deletes a file with its shares, links and versions, with its event; the blob keys of its
    /// versions (to delete after the commit), or `None` if it was not there (and then no event is
    /// recorded).
    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<Option<Vec<String>>>;
    /// Moves a live file to the trash at `at`, with its event; [`super::Error::NotFound`] if it is
    /// missing or already there.
    async fn trash(&self, id: &str, at: i64, event: &AuditEvent) -> Result<()>;
    /// Takes a trashed file out of the trash into `folder_id` (`""`: the root) under `name`, with
    /// its event. `NotFound` if it is not in the trash, `ParentGone` if the folder is gone or in
    /// the trash, `Conflict` if the name is taken there.
    async fn restore(
        &self,
        id: &str,
        folder_id: &str,
        name: &str,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()>;
    /// Files marked as trashed, oldest first: of one owner, and/or trashed before a time.
    async fn trashed(&self, query: &TrashQuery<'_>) -> Result<Vec<FileRecord>>;
    /// Every file directly in `folder_id`, trashed or not (to purge a trashed folder).
    async fn in_folder(&self, folder_id: &str) -> Result<Vec<FileRecord>>;
    /// What `owner_id` stores.
    async fn usage(&self, owner_id: &str) -> Result<FileUsage>;
    /// Accounts owning any file (trash included), by id, at most `limit` after `after`.
    async fn owners(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>>;
}

/// What an owner stores, by the file table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileUsage {
    /// Files, trash included.
    pub files: u64,
    /// Versions of those files.
    pub versions: u64,
    /// Bytes of all those versions (what quotas count).
    pub bytes: u64,
    /// Files in the trash (marked, or inside a trashed folder).
    pub trash_files: u64,
    /// Bytes of all versions of those.
    pub trash_bytes: u64,
}

/// Which trashed items to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct TrashQuery<'a> {
    /// Only this owner's.
    pub owner_id: Option<&'a str>,
    /// Only those trashed before this time (microseconds).
    pub before: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

/// A file store behind a pointer.
pub type DynFileStore = dyn FileStore;

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: FileStore + ?Sized> FileStore for Arc<T> {
    async fn insert(
        &self,
        file: &FileRecord,
        words: &str,
        quota: &Quota,
        event: &AuditEvent,
    ) -> Result<()> {
        (**self).insert(file, words, quota, event).await
    }
    async fn locate_many(&self, ids: &[&str]) -> Result<Vec<Located>> {
        (**self).locate_many(ids).await
    }
    async fn usage(&self, owner_id: &str) -> Result<FileUsage> {
        (**self).usage(owner_id).await
    }
    async fn owners(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>> {
        (**self).owners(after, limit).await
    }
    async fn get(&self, id: &str) -> Result<Option<FileRecord>> {
        (**self).get(id).await
    }
    async fn locate(&self, id: &str) -> Result<Option<Located>> {
        (**self).locate(id).await
    }
    async fn list(&self, query: &FileQuery<'_>) -> Result<Vec<FileRecord>> {
        (**self).list(query).await
    }
    async fn find_named(
        &self,
        owner_id: &str,
        folder_id: &str,
        name: &str,
    ) -> Result<Option<FileRecord>> {
        (**self).find_named(owner_id, folder_id, name).await
    }
    async fn update(
        &self,
        id: &str,
        change: &FileChange,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        (**self).update(id, change, at, event).await
    }
    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<Option<Vec<String>>> {
        (**self).delete(id, event).await
    }
    async fn trash(&self, id: &str, at: i64, event: &AuditEvent) -> Result<()> {
        (**self).trash(id, at, event).await
    }
    async fn restore(
        &self,
        id: &str,
        folder_id: &str,
        name: &str,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        (**self).restore(id, folder_id, name, at, event).await
    }
    async fn trashed(&self, query: &TrashQuery<'_>) -> Result<Vec<FileRecord>> {
        (**self).trashed(query).await
    }
    async fn in_folder(&self, folder_id: &str) -> Result<Vec<FileRecord>> {
        (**self).in_folder(folder_id).await
    }
}
