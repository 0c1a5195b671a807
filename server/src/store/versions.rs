//! File versions: the `file_versions` table. Each file has versions numbered from 1; the files
//! row mirrors the current one.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::Result;

/// One version of a file's content (times in microseconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRecord {
    /// The file.
    pub file_id: String,
    /// 1, 2, … in the order they were made.
    pub version: i64,
    /// Size in bytes.
    pub size: u64,
    /// Media type.
    pub content_type: String,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// file-verifier signature.
    pub signature: String,
    /// Where the content is in the blob store (restores share their source's blob).
    pub blob_key: String,
    /// Who made it.
    pub created_by: String,
    /// When.
    pub created_at: i64,
    /// The version whose content a restore brought back.
    pub restored_from: Option<i64>,
}

/// New content for an existing file.
#[derive(Debug, Clone)]
pub struct NewVersion {
    /// The file.
    pub file_id: String,
    /// Lost-update protection: the write happens only while the current content's SHA-256 is
    /// one of these (`If-Match`); `None` writes unconditionally.
    pub if_match: Option<Vec<String>>,
    /// Size in bytes.
    pub size: u64,
    /// Media type.
    pub content_type: String,
    /// SHA-256, hex.
    pub sha256: String,
    /// file-verifier signature.
    pub signature: String,
    /// The blob, already stored.
    pub blob_key: String,
    /// Who writes it.
    pub created_by: String,
    /// When.
    pub at: i64,
    /// For a restore: the version brought back.
    pub restored_from: Option<i64>,
    /// The owner's quota, which the new version must fit in.
    pub quota: super::Quota,
    /// The words of its text for the search index (see [`super::search::word_list`]).
    pub words: String,
}

/// What removing a version freed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// The blob no version references any more (to delete after the commit), if any.
    pub unreferenced_blob: Option<String>,
}

/// The `file_versions` table (and the current-version columns of `files`).
///
/// Contract (checked by [`super::conformance`]): `FileStore::insert` records version 1;
/// `add` numbers the next version, makes it current and mirrors it into the files row in one
/// transaction, `Stale` when `if_match` does not name the current content (checked inside the
/// write), `NotFound` for a missing file; `remove` refuses the current version (`Conflict`) and
/// reports a blob no other version uses; every write records its event, a refused one none.
#[async_trait]
pub trait VersionStore: Debug + Send + Sync + 'static {
    /// Adds a version and makes it current, with its event.
    async fn add(&self, version: &NewVersion, event: &AuditEvent) -> Result<VersionRecord>;
    /// A file's versions, newest first.
    async fn list(&self, file_id: &str) -> Result<Vec<VersionRecord>>;
    /// One version.
    async fn get(&self, file_id: &str, version: i64) -> Result<Option<VersionRecord>>;
    /// Removes a version that is not the current one, with its event.
    async fn remove(&self, file_id: &str, version: i64, event: &AuditEvent) -> Result<Removed>;
    /// Versions the retention rules let go: not current, and neither among the `keep_last`
    /// newest of their file (0: no such rule) nor made at or after `keep_since` (None: no such
    /// rule); at most `limit`, oldest first. With neither rule, none.
    async fn expired(
        &self,
        keep_last: u32,
        keep_since: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(String, i64)>>;
    /// Whether any version references the blob `key`.
    async fn blob_in_use(&self, key: &str) -> Result<bool>;
}

/// A version store behind a pointer.
pub type DynVersionStore = dyn VersionStore;

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: VersionStore + ?Sized> VersionStore for Arc<T> {
    async fn add(&self, version: &NewVersion, event: &AuditEvent) -> Result<VersionRecord> {
        (**self).add(version, event).await
    }
    async fn list(&self, file_id: &str) -> Result<Vec<VersionRecord>> {
        (**self).list(file_id).await
    }
    async fn get(&self, file_id: &str, version: i64) -> Result<Option<VersionRecord>> {
        (**self).get(file_id, version).await
    }
    async fn remove(&self, file_id: &str, version: i64, event: &AuditEvent) -> Result<Removed> {
        (**self).remove(file_id, version, event).await
    }
    async fn expired(
        &self,
        keep_last: u32,
        keep_since: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(String, i64)>> {
        (**self).expired(keep_last, keep_since, limit).await
    }
    async fn blob_in_use(&self, key: &str) -> Result<bool> {
        (**self).blob_in_use(key).await
    }
}

/// Why the current version cannot be removed.
pub(crate) const CURRENT_VERSION: &str =
    "the current version cannot be deleted: restore another version first, or delete the file";
