//! The chunked engine: content split by FastCDC into chunks stored once per owner, each
//! encrypted (or, with encryption off, checked against its keyed id when read).
//!
//! Writing: every chunk is pinned in the index before its object is written, and the content's
//! chunk list commits in one transaction with the pins turning into references; a chunk the
//! owner already stores is not written again. Reading: only the chunks a range overlaps are
//! fetched, and each is authenticated before a byte of it goes out. Deleting: the content's
//! references go in one transaction, then the objects of chunks left without any.

use std::ops::Range;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::stream::FuturesOrdered;
use futures::{Stream, StreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::seal::{DataKeys, TenantKey};
use super::{BlobStream, Hashers, StoredBlob};
use crate::clock::Clock;
use crate::error::Error;
use crate::store::chunks::{ChunkRef, Claimed, ContentRecord, DynChunkStore, NewPin, StoredChunk};

/// FastCDC bounds: chunks are 256 KiB to 4 MiB, about 1 MiB on average (restic's average).
pub const MIN_CHUNK: u32 = 256 * 1024;
/// See [`MIN_CHUNK`].
pub const AVG_CHUNK: u32 = 1024 * 1024;
/// See [`MIN_CHUNK`].
pub const MAX_CHUNK: u32 = 4 * 1024 * 1024;
/// Chunks hashed, sealed and written at once per upload (bounds memory: each is its buffer).
const IN_FLIGHT: usize = 4;
/// The receive buffer's room: a chunk of about average size and the bytes after it.
const CHUNK_BUFFER: usize = 2 * AVG_CHUNK as usize;
/// Bytes held before the first look for a cut, and more bytes before each further look.
const FIRST_LOOK: usize = (AVG_CHUNK + AVG_CHUNK / 4) as usize;
/// See [`FIRST_LOOK`].
const LOOK_STEP: usize = AVG_CHUNK as usize;
/// Chunks fetched ahead of the one being sent, per download.
const READ_AHEAD: usize = 3;

/// Where chunk objects live and how they are written.
#[derive(Debug, Clone)]
pub struct Chunked {
    pub(super) index: Arc<DynChunkStore>,
    pub(super) keys: DataKeys,
    pub(super) encrypt: bool,
    pub(super) clock: Arc<dyn Clock>,
}

/// The object of a chunk: per owner, sharded by the id's first byte, with its generation.
pub fn chunk_path(owner: &str, chunk_id: &str, generation: i64) -> ObjectPath {
    let shard = chunk_id.get(..2).unwrap_or("00");
    ObjectPath::from(format!("chunks/{owner}/{shard}/{chunk_id}.{generation}"))
}

fn corrupt(what: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what)
}

impl Chunked {
    /// Streams `body` into content `key` of `owner`; the content commits bound to the
    /// signature `hashers` produce.
    pub(super) async fn put<S, E>(
        &self,
        store: &Arc<dyn ObjectStore>,
        owner: &str,
        key: &ObjectPath,
        body: S,
        max: u64,
        mut hashers: Hashers,
    ) -> Result<StoredBlob, Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let upload = uuid::Uuid::now_v7().to_string();
        let tenant = self.keys.of(owner, self.clock.now_micros()).await?;
        let result = self
            .write_chunks(store, owner, &tenant, &upload, body, max, &mut hashers)
            .await;
        let committed = async {
            let (size, list) = result?;
            let (sha256, signature) = hashers.finish().await?;
            let binding = tenant.bind(
                &signature.to_string(),
                list.iter().map(|c| (c.chunk_id.as_str(), c.offset, c.size)),
            );
            self.index
                .commit(
                    &upload,
                    key.as_ref(),
                    owner,
                    &list,
                    &binding,
                    self.clock.now_micros(),
                )
                .await
                .map_err(|e| match e {
                    crate::store::Error::NotFound => Error::Unavailable(
                        "the upload took so long that its chunks were released; retry".into(),
                    ),
                    other => other.into(),
                })?;
            Ok(StoredBlob {
                size,
                sha256,
                signature,
            })
        }
        .await;
        if committed.is_err() {
            // Its chunks lose these pins; any left without references are collected.
            let _ = self.index.release(&upload).await;
        }
        committed
    }

    #[allow(clippy::too_many_arguments)]
    async fn write_chunks<S, E>(
        &self,
        store: &Arc<dyn ObjectStore>,
        owner: &str,
        tenant: &Arc<TenantKey>,
        upload: &str,
        mut body: S,
        max: u64,
        hashers: &mut Hashers,
    ) -> Result<(u64, Vec<ChunkRef>), Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let mut buf = BytesMut::with_capacity(CHUNK_BUFFER);
        let mut size: u64 = 0;
        let mut offset: u64 = 0;
        let mut list = Vec::new();
        let mut flight = FuturesOrdered::new();
        let mut ended = false;
        // How much to hold before looking for the next cut (again): each look scans from the
        // chunk's start, so it waits for enough new bytes to be worth it.
        let mut next_look = FIRST_LOOK;
        loop {
            // Cut every chunk whose end is already decided.
            while !buf.is_empty() && (ended || buf.len() >= next_look) {
                let Some(cut) = first_cut(&buf, ended) else {
                    next_look = (buf.len() + LOOK_STEP).min(MAX_CHUNK as usize);
                    break;
                };
                next_look = FIRST_LOOK;
                // The chunk keeps the front of the buffer; the few bytes after it move to a
                // fresh one with room for the next chunk.
                let chunk = buf.split_to(cut);
                buf.reserve(CHUNK_BUFFER);
                let at = offset;
                offset += chunk.len() as u64;
                flight.push_back(self.store_chunk(store, owner, tenant, upload, chunk, at));
                if flight.len() >= IN_FLIGHT
                    && let Some(done) = flight.next().await
                {
                    list.push(done?);
                }
            }
            if ended {
                break;
            }
            // Receive while the chunks in flight hash, seal and write.
            let piece = tokio::select! {
                Some(done) = flight.next(), if !flight.is_empty() => {
                    list.push(done?);
                    continue;
                }
                piece = body.next() => piece,
            };
            match piece {
                None => ended = true,
                Some(Err(e)) => {
                    return Err(Error::BadRequest(format!("upload interrupted: {e}")));
                }
                Some(Ok(bytes)) => {
                    size += bytes.len() as u64;
                    if size > max {
                        return Err(Error::TooLarge(format!(
                            "uploads are limited to {max} bytes"
                        )));
                    }
                    hashers.feed(&bytes).await?;
                    buf.extend_from_slice(&bytes);
                }
            }
        }
        while let Some(done) = flight.next().await {
            list.push(done?);
        }
        Ok((size, list))
    }

    async fn store_chunk(
        &self,
        store: &Arc<dyn ObjectStore>,
        owner: &str,
        tenant: &Arc<TenantKey>,
        upload: &str,
        chunk: BytesMut,
        offset: u64,
    ) -> Result<ChunkRef, Error> {
        let size = chunk.len() as u64;
        let t = tenant.clone();
        let (chunk_id, mut chunk) =
            tokio::task::spawn_blocking(move || (t.chunk_id(&chunk), chunk))
                .await
                .map_err(|e| Error::Internal(format!("hashing a chunk: {e}")))?;
        let pinned = self
            .index
            .pin(&NewPin {
                upload_id: upload,
                owner_id: owner,
                chunk_id: &chunk_id,
                size,
                sealed: self.encrypt,
                generation: rand::random::<i64>() & (i64::MAX >> 1),
                at: self.clock.now_micros(),
            })
            .await?;
        if pinned.must_write {
            let payload = if pinned.sealed {
                let (t, o, id) = (tenant.clone(), owner.to_owned(), chunk_id.clone());
                // Sealed in place: the chunk's own buffer becomes the ciphertext.
                let (sealed, chunk) = tokio::task::spawn_blocking(move || {
                    let sealed = t.seal(&o, &id, &mut chunk);
                    (sealed, chunk)
                })
                .await
                .map_err(|e| Error::Internal(format!("sealing a chunk: {e}")))?;
                let sealed = sealed?;
                PutPayload::from_iter([
                    Bytes::copy_from_slice(&sealed.header),
                    chunk.freeze(),
                    Bytes::copy_from_slice(&sealed.tag),
                ])
            } else {
                PutPayload::from(chunk.freeze())
            };
            store
                .put(&chunk_path(owner, &chunk_id, pinned.generation), payload)
                .await?;
        }
        Ok(ChunkRef {
            chunk_id,
            offset,
            size,
        })
    }

    /// Streams `range` (or all) of `content`. With `signature` (a whole download), the chunk
    /// list is first checked against the content's binding to it: a mismatch ends the stream
    /// with an [`std::io::ErrorKind::InvalidData`] error before any byte.
    pub(super) async fn get(
        &self,
        store: &Arc<dyn ObjectStore>,
        content: &ContentRecord,
        range: Option<Range<u64>>,
        signature: Option<&str>,
    ) -> Result<BlobStream, Error> {
        let (owner, size) = (content.owner_id.as_str(), content.size);
        let want = range.unwrap_or(0..size);
        if want.start >= want.end {
            return Ok(futures::stream::empty().boxed());
        }
        let chunks = self
            .index
            .chunks_of(&content.key, want.start, want.end)
            .await?;
        let tenant = self.keys.of(owner, self.clock.now_micros()).await?;
        if let Some(signature) = signature {
            let bound = content.binding.as_deref().is_some_and(|b| {
                tenant.is_bound(
                    b,
                    signature,
                    chunks
                        .iter()
                        .map(|c| (c.chunk_id.as_str(), c.offset, c.size)),
                )
            });
            if !bound {
                let why = corrupt(format!(
                    "the chunk list of {} does not match the file's signature",
                    content.key
                ));
                return Ok(futures::stream::once(async move { Err(why) }).boxed());
            }
        }
        let store = store.clone();
        let owner = owner.to_owned();
        let reads = futures::stream::iter(chunks.into_iter().map(move |c| {
            let (store, tenant, owner, want) =
                (store.clone(), tenant.clone(), owner.clone(), want.clone());
            async move { read_chunk(&store, tenant, owner, c, want).await }
        }))
        .buffered(READ_AHEAD);
        Ok(reads.boxed())
    }

    /// Drops content `key` and collects the chunks it leaves without references. `false` if
    /// there was no such content.
    pub(super) async fn delete(
        &self,
        store: &Arc<dyn ObjectStore>,
        key: &ObjectPath,
    ) -> Result<bool, Error> {
        if self.index.content(key.as_ref()).await?.is_none() {
            return Ok(false);
        }
        let freed = self.index.drop_content(key.as_ref()).await?;
        if !freed.is_empty() {
            let claimed = self.index.claim(Some(&freed), freed.len() as u32).await?;
            self.remove(store, claimed).await?;
        }
        Ok(true)
    }

    async fn remove(
        &self,
        store: &Arc<dyn ObjectStore>,
        claimed: Vec<Claimed>,
    ) -> Result<u64, Error> {
        let mut n = 0;
        for c in claimed {
            match store
                .delete(&chunk_path(&c.owner_id, &c.chunk_id, c.generation))
                .await
            {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            self.index.forget(&c).await?;
            n += 1;
        }
        Ok(n)
    }

    /// One pass of the collector: releases the pins of uploads abandoned before `stale_before`,
    /// then deletes every chunk without references. Returns the chunks deleted.
    pub(super) async fn collect(
        &self,
        store: &Arc<dyn ObjectStore>,
        stale_before: i64,
    ) -> Result<u64, Error> {
        for upload in self.index.stale_uploads(stale_before).await? {
            self.index.release(&upload).await?;
        }
        let mut n = 0;
        loop {
            let claimed = self.index.claim(None, 500).await?;
            if claimed.is_empty() {
                return Ok(n);
            }
            n += self.remove(store, claimed).await?;
        }
    }
}

/// Fetches, authenticates and trims one chunk to `want`. The check runs on a blocking thread,
/// so the chunks read ahead are opened in parallel while the one before is being sent.
async fn read_chunk(
    store: &Arc<dyn ObjectStore>,
    tenant: Arc<TenantKey>,
    owner: String,
    c: StoredChunk,
    want: Range<u64>,
) -> Result<Bytes, std::io::Error> {
    let path = chunk_path(&owner, &c.chunk_id, c.generation);
    let stored = match store.get(&path).await {
        Ok(r) => r.bytes().await.map_err(std::io::Error::other)?,
        Err(object_store::Error::NotFound { .. }) => {
            return Err(corrupt(format!(
                "chunk {} is missing from storage",
                c.chunk_id
            )));
        }
        Err(e) => return Err(std::io::Error::other(e)),
    };
    let plain = tokio::task::spawn_blocking(move || open_chunk(&tenant, &owner, &c, stored))
        .await
        .map_err(std::io::Error::other)??;
    let (offset, size) = (plain.0, plain.1.len() as u64);
    let from = want.start.saturating_sub(offset) as usize;
    let to = (want.end.min(offset + size) - offset) as usize;
    Ok(plain.1.slice(from..to))
}

/// Authenticates a chunk object (opening it when sealed) and checks its length: its offset in
/// the content and its plaintext.
fn open_chunk(
    tenant: &TenantKey,
    owner: &str,
    c: &StoredChunk,
    stored: Bytes,
) -> Result<(u64, Bytes), std::io::Error> {
    let plain: Bytes = if c.sealed {
        // Opened in place when the object's buffer is ours alone (it is, read whole).
        let buffer = stored
            .try_into_mut()
            .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
        tenant
            .open(owner, &c.chunk_id, buffer)
            .ok_or_else(|| corrupt(format!("chunk {} was altered in storage", c.chunk_id)))?
            .freeze()
    } else {
        if !tenant.is_chunk(&c.chunk_id, &stored) {
            return Err(corrupt(format!(
                "chunk {} was altered in storage",
                c.chunk_id
            )));
        }
        stored
    };
    if plain.len() as u64 != c.size {
        return Err(corrupt(format!(
            "chunk {} has the wrong length",
            c.chunk_id
        )));
    }
    Ok((c.offset, plain))
}

/// Where the first chunk of `buf` ends, if that is decided yet: FastCDC's decision at a byte
/// depends only on the bytes before it, so a cut found before the end of `buf` is the cut the
/// whole content has; without one, the chunk ends at `MAX_CHUNK` or at the end of the
/// content (`at_end`), and otherwise more bytes are needed (`None`).
fn first_cut(buf: &[u8], at_end: bool) -> Option<usize> {
    if buf.len() <= MIN_CHUNK as usize {
        return at_end.then_some(buf.len());
    }
    let cut = fastcdc::v2020::FastCDC::new(buf, MIN_CHUNK, AVG_CHUNK, MAX_CHUNK)
        .next()
        .map_or(buf.len(), |c| c.length);
    (cut < buf.len() || at_end || buf.len() >= MAX_CHUNK as usize).then_some(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(len: usize) -> Vec<u8> {
        let mut data = vec![0u8; len];
        let mut x: u64 = 1;
        for b in data.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        data
    }

    /// Chunks of `data` fed in `piece`-byte pieces, the way an upload cuts them.
    fn streamed(data: &[u8], piece: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut pieces = data.chunks(piece);
        loop {
            let next = pieces.next();
            let ended = next.is_none();
            if let Some(p) = next {
                buf.extend_from_slice(p);
            }
            while let Some(cut) = (!buf.is_empty()).then(|| first_cut(&buf, ended)).flatten() {
                assert!(cut as u32 <= MAX_CHUNK);
                out.push(buf.drain(..cut).collect());
            }
            if ended {
                return out;
            }
        }
    }

    #[test]
    fn streamed_cuts_are_the_cuts_of_the_whole_content() {
        let data = noise(12 * 1024 * 1024 + 5);
        let whole: Vec<Vec<u8>> =
            fastcdc::v2020::FastCDC::new(&data, MIN_CHUNK, AVG_CHUNK, MAX_CHUNK)
                .map(|c| data[c.offset..c.offset + c.length].to_vec())
                .collect();
        for piece in [1000, 65536, 3 * 1024 * 1024] {
            assert_eq!(streamed(&data, piece), whole, "pieces of {piece}");
        }
        // Zeros never cut: chunks end at the maximum.
        let zeros = vec![0u8; 9 * 1024 * 1024];
        let cuts: Vec<usize> = streamed(&zeros, 65536).iter().map(Vec::len).collect();
        assert_eq!(cuts, [4 << 20, 4 << 20, 1 << 20]);
    }

    #[test]
    fn cuts_are_content_defined_and_survive_an_insertion() {
        let data = noise(12 * 1024 * 1024);
        let a = streamed(&data, 65536);
        assert_eq!(a.concat(), data);
        let mut edited = data.clone();
        edited.splice(100..100, b"inserted".iter().copied());
        let b = streamed(&edited, 65536);
        let shared = b.iter().filter(|c| a.contains(c)).count();
        assert!(
            shared + 2 >= a.len(),
            "{shared} of {} chunks shared",
            a.len()
        );
    }
}
