//! The chunk index: content-defined chunks stored once per owner, the chunk list of each
//! content, the pins of uploads in progress, and each owner's wrapped data key. The tables
//! `chunks`, `contents`, `content_chunks`, `upload_pins` and `data_keys` are this trait's.
//!
//! Reference counting: `refs` counts the chunk's places in committed chunk lists plus its pins.
//! An upload pins each chunk before it writes it (so a collector cannot take it meanwhile) and
//! its commit turns pins into list entries in one transaction; dropping a content gives its
//! references back in one transaction. The collector claims a chunk without references
//! (`refs` 0 → -1), deletes its object, then forgets it; a pin that meets a claimed chunk takes
//! it back under a new generation (a new object key), so an object a commit relies on is never
//! the one a collector is deleting.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;

use super::Result;

/// What a pin tells the uploader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pinned {
    /// The generation whose object holds the chunk.
    pub generation: i64,
    /// Whether the object may be missing: the uploader must write it.
    pub must_write: bool,
    /// Whether the stored object is encrypted (for a chunk already stored).
    pub sealed: bool,
}

/// A chunk to pin.
#[derive(Debug, Clone, Copy)]
pub struct NewPin<'a> {
    /// The upload pinning it.
    pub upload_id: &'a str,
    /// The owner (chunks are per owner).
    pub owner_id: &'a str,
    /// Chunk id (hex keyed hash of its plaintext).
    pub chunk_id: &'a str,
    /// Plaintext length.
    pub size: u64,
    /// Whether a new object will be encrypted.
    pub sealed: bool,
    /// The generation a new row starts at: random, so a chunk forgotten and stored again never
    /// reuses an object key a slow collector may still be deleting.
    pub generation: i64,
    /// Now, microseconds.
    pub at: i64,
}

/// One entry of a chunk list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkRef {
    /// Chunk id.
    pub chunk_id: String,
    /// Where it starts in the content.
    pub offset: u64,
    /// Its plaintext length.
    pub size: u64,
}

/// A chunk of a content as a reader needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChunk {
    /// Chunk id.
    pub chunk_id: String,
    /// Where it starts in the content.
    pub offset: u64,
    /// Its plaintext length.
    pub size: u64,
    /// The generation of its object.
    pub generation: i64,
    /// Whether its object is encrypted.
    pub sealed: bool,
}

/// A committed content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentRecord {
    /// Its key (a version's `blob_key`).
    pub key: String,
    /// Owner.
    pub owner_id: String,
    /// Plaintext size.
    pub size: u64,
    /// Committed at, microseconds.
    pub created_at: i64,
    /// The chunk list bound to the file's signature (see `TenantKey::bind`); `None` for
    /// contents committed before bindings existed.
    pub binding: Option<String>,
}

/// A chunk claimed by the collector: its object may go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// Owner.
    pub owner_id: String,
    /// Chunk id.
    pub chunk_id: String,
    /// The generation whose object to delete.
    pub generation: i64,
}

/// An owner's data key, wrapped by a key-encryption key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// Owner.
    pub owner_id: String,
    /// Which key-encryption key wrapped it.
    pub kek_id: String,
    /// The wrapped key (nonce and ciphertext).
    pub wrapped: Vec<u8>,
}

/// Stored bytes of one owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChunkUsage {
    /// Distinct chunks referenced.
    pub chunks: u64,
    /// Their plaintext bytes (what dedup leaves to store).
    pub bytes: u64,
}

/// The chunk index.
#[async_trait]
pub trait ChunkStore: Debug + Send + Sync + 'static {
    /// Pins a chunk for `upload_id` (creating its row if new) and tells whether its object must
    /// be written.
    async fn pin(&self, pin: &NewPin<'_>) -> Result<Pinned>;
    /// Commits content `key` of `owner_id` with `chunks` (in order) and its `binding`: the
    /// upload's pins become the list's references and its chunks are marked written, in one
    /// transaction.
    /// `Conflict` if the key exists, `NotFound` if a pin is missing
    /// (the upload was swept as abandoned).
    async fn commit(
        &self,
        upload_id: &str,
        key: &str,
        owner_id: &str,
        chunks: &[ChunkRef],
        binding: &str,
        at: i64,
    ) -> Result<()>;
    /// Gives back the pins of an upload that will not commit.
    async fn release(&self, upload_id: &str) -> Result<()>;
    /// Uploads with pins older than `before` (abandoned by a crash).
    async fn stale_uploads(&self, before: i64) -> Result<Vec<String>>;
    /// Content `key`, or `None` (a blob written before chunking, or missing).
    async fn content(&self, key: &str) -> Result<Option<ContentRecord>>;
    /// The chunks of content `key` overlapping `[start, end)`, in order.
    async fn chunks_of(&self, key: &str, start: u64, end: u64) -> Result<Vec<StoredChunk>>;
    /// Drops content `key` (missing is fine): its references go, in one transaction. Returns
    /// the chunks that no longer have any (candidates for [`ChunkStore::claim`]).
    async fn drop_content(&self, key: &str) -> Result<Vec<(String, String)>>;
    /// Contents committed at or before `before`, oldest first (the orphan sweep checks them).
    async fn contents_before(&self, before: i64, limit: u32) -> Result<Vec<ContentRecord>>;
    /// Claims up to `limit` chunks without references (of `only`, when given): each is returned
    /// once with the generation to delete. Claimed chunks left by a crashed collector are
    /// returned again.
    async fn claim(&self, only: Option<&[(String, String)]>, limit: u32) -> Result<Vec<Claimed>>;
    /// Forgets a claimed chunk after its object was deleted (no-op if a pin took it back).
    async fn forget(&self, claimed: &Claimed) -> Result<()>;
    /// Stored bytes of `owner_id` after dedup.
    async fn usage(&self, owner_id: &str) -> Result<ChunkUsage>;
    /// The wrapped data key of `owner_id`.
    async fn data_key(&self, owner_id: &str) -> Result<Option<WrappedKey>>;
    /// Stores `key` unless the owner has one already; returns the one in force.
    async fn put_data_key(&self, key: &WrappedKey, at: i64) -> Result<WrappedKey>;
    /// Data keys not wrapped by `kek_id`, up to `limit`.
    async fn keys_not_under(&self, kek_id: &str, limit: u32) -> Result<Vec<WrappedKey>>;
    /// Replaces a data key's wrapping if it is still `old_kek_id`'s.
    async fn rewrap(&self, key: &WrappedKey, old_kek_id: &str, at: i64) -> Result<bool>;
}

/// A chunk index behind a pointer.
pub type DynChunkStore = dyn ChunkStore;

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: ChunkStore + ?Sized> ChunkStore for Arc<T> {
    async fn pin(&self, pin: &NewPin<'_>) -> Result<Pinned> {
        (**self).pin(pin).await
    }
    async fn commit(
        &self,
        upload_id: &str,
        key: &str,
        owner_id: &str,
        chunks: &[ChunkRef],
        binding: &str,
        at: i64,
    ) -> Result<()> {
        (**self)
            .commit(upload_id, key, owner_id, chunks, binding, at)
            .await
    }
    async fn release(&self, upload_id: &str) -> Result<()> {
        (**self).release(upload_id).await
    }
    async fn stale_uploads(&self, before: i64) -> Result<Vec<String>> {
        (**self).stale_uploads(before).await
    }
    async fn content(&self, key: &str) -> Result<Option<ContentRecord>> {
        (**self).content(key).await
    }
    async fn chunks_of(&self, key: &str, start: u64, end: u64) -> Result<Vec<StoredChunk>> {
        (**self).chunks_of(key, start, end).await
    }
    async fn drop_content(&self, key: &str) -> Result<Vec<(String, String)>> {
        (**self).drop_content(key).await
    }
    async fn contents_before(&self, before: i64, limit: u32) -> Result<Vec<ContentRecord>> {
        (**self).contents_before(before, limit).await
    }
    async fn claim(&self, only: Option<&[(String, String)]>, limit: u32) -> Result<Vec<Claimed>> {
        (**self).claim(only, limit).await
    }
    async fn forget(&self, claimed: &Claimed) -> Result<()> {
        (**self).forget(claimed).await
    }
    async fn usage(&self, owner_id: &str) -> Result<ChunkUsage> {
        (**self).usage(owner_id).await
    }
    async fn data_key(&self, owner_id: &str) -> Result<Option<WrappedKey>> {
        (**self).data_key(owner_id).await
    }
    async fn put_data_key(&self, key: &WrappedKey, at: i64) -> Result<WrappedKey> {
        (**self).put_data_key(key, at).await
    }
    async fn keys_not_under(&self, kek_id: &str, limit: u32) -> Result<Vec<WrappedKey>> {
        (**self).keys_not_under(kek_id, limit).await
    }
    async fn rewrap(&self, key: &WrappedKey, old_kek_id: &str, at: i64) -> Result<bool> {
        (**self).rewrap(key, old_kek_id, at).await
    }
}
