//! Content storage through object_store: local disk by default, S3 by configuration.
//!
//! With `storage.dedup` (the default) a content is a list of content-defined chunks stored once
//! per owner and encrypted ([`chunked`], [`seal`]); without it, one object per version. Either
//! way an upload streams: each piece goes to the store and, on two other threads, into SHA-256
//! and the file-verifier signer, so hashing overlaps the I/O instead of following it. Nothing
//! holds the whole file in memory. A content is visible under its key only once complete
//! (chunks: its chunk list commits in one transaction; whole objects: staged then renamed on
//! local disk, multipart completion on S3).

pub mod chunked;
pub mod seal;

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{
    GetOptions, GetRange, GetResultPayload, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart,
};
use sha2::{Digest, Sha256};
use strongroom_file_verifier::{KeyRing, Signature};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use crate::config::StorageConfig;
use crate::error::Error;

/// Multipart part size; also the size under which an upload is one plain PUT.
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts in flight per upload.
const PART_CONCURRENCY: usize = 4;
/// Read size when streaming a local file out.
const READ_CHUNK: usize = 256 * 1024;

/// What an upload produced.
#[derive(Debug, Clone)]
pub struct StoredBlob {
    /// Bytes written.
    pub size: u64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// The file-verifier signature of the content.
    pub signature: Signature,
}

/// A byte stream out of the store.
pub type BlobStream = futures::stream::BoxStream<'static, Result<Bytes, std::io::Error>>;

/// The blob store.
#[derive(Debug, Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    kind: &'static str,
    /// The directory of a local-disk store (for sweeping interrupted uploads' staging files).
    local_root: Option<std::path::PathBuf>,
    /// The chunk engine; `None`: one object per content.
    chunked: Option<chunked::Chunked>,
}

impl Blobs {
    /// Opens the store named by `url` (`file:///dir`, `s3://bucket`, `memory://`).
    pub fn open(url: &str, cfg: &StorageConfig) -> Result<Blobs, String> {
        if let Some(dir) = url.strip_prefix("file://") {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {dir}: {e}"))?;
            let fs = LocalFileSystem::new_with_prefix(dir)
                .map_err(|e| format!("cannot open {dir}: {e}"))?
                .with_automatic_cleanup(true)
                .with_fsync(cfg.fsync);
            return Ok(Blobs {
                store: Arc::new(fs),
                kind: "local",
                local_root: Some(std::path::PathBuf::from(dir)),
                chunked: None,
            });
        }
        if url == "memory://" {
            return Ok(Blobs {
                store: Arc::new(InMemory::new()),
                kind: "memory",
                local_root: None,
                chunked: None,
            });
        }
        let bucket = url
            .strip_prefix("s3://")
            .filter(|b| !b.is_empty())
            .ok_or_else(|| format!("unsupported storage url {url}"))?;
        let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(e) = &cfg.s3_endpoint {
            b = b.with_endpoint(e);
        }
        if let Some(r) = &cfg.s3_region {
            b = b.with_region(r);
        }
        if let Some(k) = &cfg.s3_access_key_id {
            b = b.with_access_key_id(k);
        }
        if let Some(s) = &cfg.s3_secret_access_key {
            b = b.with_secret_access_key(s);
        }
        b = b.with_allow_http(cfg.s3_allow_http);
        let s3 = b.build().map_err(|e| format!("S3 configuration: {e}"))?;
        Ok(Blobs {
            store: Arc::new(s3),
            kind: "s3",
            local_root: None,
            chunked: None,
        })
    }

    /// Stores new content as deduplicated chunks indexed in `index`, encrypted when `encrypt`
    /// (contents written whole before stay readable).
    pub fn with_chunks(
        mut self,
        index: Arc<crate::store::chunks::DynChunkStore>,
        keys: seal::DataKeys,
        encrypt: bool,
        clock: Arc<dyn crate::clock::Clock>,
    ) -> Blobs {
        self.chunked = Some(chunked::Chunked {
            index,
            keys,
            encrypt,
            clock,
        });
        self
    }

    /// Bytes stored for `owner` after dedup (each distinct chunk once); `None` without chunking.
    pub async fn stored_bytes(&self, owner: &str) -> Result<Option<u64>, Error> {
        match &self.chunked {
            Some(c) => Ok(Some(c.index.usage(owner).await?.bytes)),
            None => Ok(None),
        }
    }

    /// The data keys, when chunking is on.
    pub fn data_keys(&self) -> Option<&seal::DataKeys> {
        self.chunked.as_ref().map(|c| &c.keys)
    }

    /// The raw object store (tests and repairs reach chunk objects through it).
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// `local`, `s3` or `memory`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The key of a file's blob: its id, never a user-supplied name.
    pub fn key(file_id: &str) -> ObjectPath {
        ObjectPath::from(format!("blobs/{file_id}"))
    }

    /// Streams `body` into the content `key` of `owner`, hashing and signing alongside; refuses
    /// more than `max` bytes (the partial upload is aborted, nothing becomes visible).
    pub async fn put_stream<S, E>(
        &self,
        owner: &str,
        key: &ObjectPath,
        body: S,
        max: u64,
        signer: &KeyRing,
    ) -> Result<StoredBlob, Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let mut hashers = Hashers::start(signer)?;
        let result = match &self.chunked {
            Some(c) => return c.put(&self.store, owner, key, body, max, hashers).await,
            None => self.write(key, body, max, &mut hashers).await,
        };
        match result {
            Ok(size) => {
                let (sha256, signature) = hashers.finish().await?;
                Ok(StoredBlob {
                    size,
                    sha256,
                    signature,
                })
            }
            Err(e) => {
                drop(hashers);
                Err(e)
            }
        }
    }

    async fn write<S, E>(
        &self,
        key: &ObjectPath,
        mut body: S,
        max: u64,
        hashers: &mut Hashers,
    ) -> Result<u64, Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let mut size: u64 = 0;
        let mut first: Vec<Bytes> = Vec::new();
        let mut buffered = 0usize;
        let too_large = || Error::TooLarge(format!("uploads are limited to {max} bytes"));
        // Small bodies become one PUT; anything larger switches to multipart.
        while buffered < PART_SIZE {
            match body.next().await {
                None => {
                    self.store
                        .put(key, PutPayload::from_iter(first))
                        .await
                        .map_err(Error::from)?;
                    return Ok(size);
                }
                Some(Err(e)) => {
                    return Err(Error::BadRequest(format!("upload interrupted: {e}")));
                }
                Some(Ok(chunk)) => {
                    size += chunk.len() as u64;
                    if size > max {
                        return Err(too_large());
                    }
                    hashers.feed(&chunk).await?;
                    buffered += chunk.len();
                    first.push(chunk);
                }
            }
        }
        let upload = self.store.put_multipart(key).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        for chunk in first {
            writer.put(chunk);
        }
        loop {
            let next = body.next().await;
            let chunk = match next {
                None => break,
                Some(Ok(c)) => c,
                Some(Err(e)) => {
                    let _ = writer.abort().await;
                    return Err(Error::BadRequest(format!("upload interrupted: {e}")));
                }
            };
            size += chunk.len() as u64;
            if size > max {
                let _ = writer.abort().await;
                return Err(too_large());
            }
            if let Err(e) = hashers.feed(&chunk).await {
                let _ = writer.abort().await;
                return Err(e);
            }
            writer.put(chunk);
            if let Err(e) = writer.wait_for_capacity(PART_CONCURRENCY).await {
                return Err(e.into());
            }
        }
        writer.finish().await?;
        Ok(size)
    }

    /// Opens `key`, whole or a byte range of it. A chunk that is missing or fails its check ends
    /// the stream with an [`std::io::ErrorKind::InvalidData`] error before any of its bytes.
    pub async fn get(
        &self,
        key: &ObjectPath,
        range: Option<Range<u64>>,
    ) -> Result<BlobStream, Error> {
        Ok(self.get_checked(key, range, None).await?.0)
    }

    /// [`Blobs::get`] for a download of a file with `signature`: also says whether the stream
    /// checks itself against that signature, which a whole chunked content with a binding
    /// does (its chunk list is checked against the binding before the first byte, and each
    /// chunk authenticates itself as it is read), so the caller need not hash it again.
    pub async fn get_checked(
        &self,
        key: &ObjectPath,
        range: Option<Range<u64>>,
        signature: Option<&str>,
    ) -> Result<(BlobStream, bool), Error> {
        if let Some(c) = &self.chunked
            && let Some(content) = c.index.content(key.as_ref()).await?
        {
            // Contents from before bindings are checked whole by the caller.
            let signature = signature.filter(|_| range.is_none() && content.binding.is_some());
            let checks_itself = signature.is_some();
            let stream = c.get(&self.store, &content, range, signature).await?;
            return Ok((stream, checks_itself));
        }
        Ok((self.get_plain(key, range).await?, false))
    }

    async fn get_plain(
        &self,
        key: &ObjectPath,
        range: Option<Range<u64>>,
    ) -> Result<BlobStream, Error> {
        let opts = GetOptions {
            range: range.clone().map(GetRange::Bounded),
            ..Default::default()
        };
        let res = self.store.get_opts(key, opts).await?;
        let served = res.range.clone();
        match res.payload {
            GetResultPayload::File(file, _) => {
                // Large reads: object_store's own file stream uses small chunks.
                let mut f = tokio::fs::File::from_std(file);
                f.seek(std::io::SeekFrom::Start(served.start))
                    .await
                    .map_err(|e| Error::Internal(format!("seek blob: {e}")))?;
                let reader = f.take(served.end - served.start);
                Ok(ReaderStream::with_capacity(reader, READ_CHUNK).boxed())
            }
            GetResultPayload::Stream(s) => Ok(s.map_err(std::io::Error::other).boxed()),
        }
    }

    /// Deletes `key` (missing is fine): a chunked content's references go at once, and the
    /// chunks it leaves without any are deleted.
    pub async fn delete(&self, key: &ObjectPath) -> Result<(), Error> {
        if let Some(c) = &self.chunked
            && c.delete(&self.store, key).await?
        {
            return Ok(());
        }
        match self.store.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Keys of contents (chunked ones and whole objects) written more than `age` ago.
    pub async fn older_than(&self, age: Duration) -> Result<Vec<String>, Error> {
        let cutoff = jiff::Timestamp::now().as_second() - age.as_secs() as i64;
        let prefix = ObjectPath::from("blobs");
        let metas: Vec<_> = self.store.list(Some(&prefix)).try_collect().await?;
        let mut keys: Vec<String> = metas
            .into_iter()
            .filter(|m| m.last_modified.timestamp() < cutoff)
            .map(|m| m.location.to_string())
            .collect();
        if let Some(c) = &self.chunked {
            let before = c.clock.now_micros() - age.as_micros() as i64;
            let contents = c.index.contents_before(before, 10_000).await?;
            keys.extend(contents.into_iter().map(|c| c.key));
        }
        Ok(keys)
    }

    /// One pass of the chunk collector (no-op without chunking): pins of uploads started more
    /// than `abandoned_after` ago are released, and every chunk without references is
    /// deleted. Returns the chunks deleted.
    pub async fn collect_garbage(&self, abandoned_after: Duration) -> Result<u64, Error> {
        match &self.chunked {
            Some(c) => {
                let before = c.clock.now_micros() - abandoned_after.as_micros() as i64;
                c.collect(&self.store, before).await
            }
            None => Ok(0),
        }
    }

    /// Removes staging files of uploads interrupted by a crash (local disk only: the store
    /// writes `<key>#<n>` and renames it into place when complete; a killed process leaves the
    /// staging file, which listing does not show). On S3 a bucket lifecycle rule does this.
    pub fn sweep_staging(&self, age: Duration) -> u64 {
        let Some(root) = &self.local_root else {
            return 0;
        };
        let Ok(dir) = std::fs::read_dir(root.join("blobs")) else {
            return 0;
        };
        let mut removed = 0;
        for entry in dir.flatten() {
            let staging = entry.file_name().to_string_lossy().contains('#');
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|e| e >= age);
            if staging && old && std::fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        removed
    }

    /// Whether the store answers (a list of an empty prefix).
    pub async fn ping(&self) -> bool {
        let prefix = ObjectPath::from("health");
        let mut s = self.store.list(Some(&prefix));
        !matches!(s.next().await, Some(Err(_)))
    }
}

/// Bytes hashed on the request's own task before hashing moves to threads: small uploads (the
/// common case) never pay for thread hand-offs; large ones hash on two threads alongside I/O.
const INLINE_HASH_BYTES: u64 = 256 * 1024;
/// Batches queued per hashing thread.
const HASH_QUEUE: usize = 4;
/// Bytes of received pieces handed to the hashing threads at once (one wake-up per batch, not
/// per piece).
const HASH_BATCH: usize = 1024 * 1024;

/// Received pieces, shared by both hashing threads.
type Batch = Arc<Vec<Bytes>>;

/// SHA-256 and the signer, fed the same chunks: inline at first, then on their own threads.
enum Hashers {
    Inline {
        sha: Box<Sha256>,
        mac: Box<strongroom_file_verifier::Signer>,
        fed: u64,
    },
    Threads {
        sha: tokio::sync::mpsc::Sender<Batch>,
        mac: tokio::sync::mpsc::Sender<Batch>,
        pending: Vec<Bytes>,
        pending_len: usize,
        sha_done: tokio::task::JoinHandle<[u8; 32]>,
        mac_done: tokio::task::JoinHandle<Signature>,
    },
    Moving,
}

impl Hashers {
    fn start(keys: &KeyRing) -> Result<Hashers, Error> {
        Ok(Hashers::Inline {
            sha: Box::new(Sha256::new()),
            mac: Box::new(keys.signer()?),
            fed: 0,
        })
    }

    fn move_to_threads(&mut self) {
        let Hashers::Inline { sha, mac, .. } = std::mem::replace(self, Hashers::Moving) else {
            return;
        };
        let (sha_tx, mut sha_rx) = tokio::sync::mpsc::channel::<Batch>(HASH_QUEUE);
        let (mac_tx, mut mac_rx) = tokio::sync::mpsc::channel::<Batch>(HASH_QUEUE);
        let sha_done = tokio::task::spawn_blocking(move || {
            let mut h = *sha;
            while let Some(batch) = sha_rx.blocking_recv() {
                batch.iter().for_each(|b| h.update(b));
            }
            h.finalize().into()
        });
        let mac_done = tokio::task::spawn_blocking(move || {
            let mut signer = *mac;
            while let Some(batch) = mac_rx.blocking_recv() {
                batch.iter().for_each(|b| signer.update(b));
            }
            signer.finish()
        });
        *self = Hashers::Threads {
            sha: sha_tx,
            mac: mac_tx,
            pending: Vec::new(),
            pending_len: 0,
            sha_done,
            mac_done,
        };
    }

    async fn feed(&mut self, chunk: &Bytes) -> Result<(), Error> {
        if let Hashers::Inline { sha, mac, fed } = self {
            if *fed + chunk.len() as u64 <= INLINE_HASH_BYTES {
                sha.update(chunk);
                mac.update(chunk);
                *fed += chunk.len() as u64;
                return Ok(());
            }
            self.move_to_threads();
        }
        let Hashers::Threads {
            pending,
            pending_len,
            ..
        } = self
        else {
            return Err(Error::Internal("hashing state lost".into()));
        };
        pending.push(chunk.clone());
        *pending_len += chunk.len();
        if *pending_len >= HASH_BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    /// Hands the pieces held back to the hashing threads.
    async fn flush(&mut self) -> Result<(), Error> {
        if let Hashers::Threads {
            sha,
            mac,
            pending,
            pending_len,
            ..
        } = self
            && !pending.is_empty()
        {
            let batch: Batch = Arc::new(std::mem::take(pending));
            *pending_len = 0;
            let gone = |_| Error::Internal("hashing thread stopped".into());
            sha.send(batch.clone()).await.map_err(gone)?;
            mac.send(batch).await.map_err(gone)?;
        }
        Ok(())
    }

    async fn finish(mut self) -> Result<(String, Signature), Error> {
        self.flush().await?;
        match self {
            Hashers::Inline { sha, mac, .. } => Ok((hex::encode(sha.finalize()), mac.finish())),
            Hashers::Threads {
                sha,
                mac,
                sha_done,
                mac_done,
                ..
            } => {
                drop(sha);
                drop(mac);
                let join =
                    |e: tokio::task::JoinError| Error::Internal(format!("hashing thread: {e}"));
                let digest = sha_done.await.map_err(join)?;
                let signature = mac_done.await.map_err(join)?;
                Ok((hex::encode(digest), signature))
            }
            Hashers::Moving => Err(Error::Internal("hashing state lost".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strongroom_file_verifier::SecretKey;

    fn keys() -> KeyRing {
        let mut k = KeyRing::new();
        k.insert_signing_key("k1", SecretKey::from_bytes(&[7; 32]).unwrap())
            .unwrap();
        k
    }

    fn chunks(
        data: &[u8],
        size: usize,
    ) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
        let v: Vec<_> = data
            .chunks(size)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        futures::stream::iter(v)
    }

    async fn read_all(s: BlobStream) -> Vec<u8> {
        s.try_fold(Vec::new(), |mut acc, b| async move {
            acc.extend_from_slice(&b);
            Ok(acc)
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn small_and_multipart_uploads_hash_sign_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}", dir.path().display());
        let blobs = Blobs::open(&url, &StorageConfig::default()).unwrap();
        let k = keys();
        for len in [0usize, 5, PART_SIZE + 12345] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let key = Blobs::key(&format!("f{len}"));
            let stored = blobs
                .put_stream("ann", &key, chunks(&data, 65536), u64::MAX, &k)
                .await
                .unwrap();
            assert_eq!(stored.size, len as u64);
            assert_eq!(stored.sha256, hex::encode(Sha256::digest(&data)));
            k.verify(&data, &stored.signature).unwrap();
            assert_eq!(read_all(blobs.get(&key, None).await.unwrap()).await, data);
            if len > 10 {
                let part = read_all(blobs.get(&key, Some(3..10)).await.unwrap()).await;
                assert_eq!(part, data[3..10]);
            }
        }
    }

    #[tokio::test]
    async fn oversized_upload_is_refused_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}", dir.path().display());
        let blobs = Blobs::open(&url, &StorageConfig::default()).unwrap();
        let data = vec![1u8; PART_SIZE * 2];
        let key = Blobs::key("big");
        for max in [100u64, PART_SIZE as u64 + 1] {
            let err = blobs
                .put_stream("ann", &key, chunks(&data, 65536), max, &keys())
                .await
                .unwrap_err();
            assert!(matches!(err, Error::TooLarge(_)), "{err:?}");
            assert!(matches!(
                blobs.get(&key, None).await,
                Err(Error::NotFound(_))
            ));
        }
        let leftovers: Vec<_> = walk(dir.path());
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    /// A chunked store over memory, with its index and a fresh key directory.
    fn chunked(encrypt: bool) -> (Blobs, Arc<crate::store::MemoryStore>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let index = Arc::new(crate::store::MemoryStore::new());
        let keks = seal::Keks::open(dir.path().to_owned()).unwrap();
        let keys = seal::DataKeys::new(Arc::new(keks), index.clone());
        let blobs = Blobs::open("memory://", &StorageConfig::default())
            .unwrap()
            .with_chunks(
                index.clone(),
                keys,
                encrypt,
                Arc::new(crate::clock::SystemClock),
            );
        (blobs, index, dir)
    }

    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    async fn objects(blobs: &Blobs) -> Vec<ObjectPath> {
        let prefix = ObjectPath::from("chunks");
        blobs
            .store
            .list(Some(&prefix))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn chunked_contents_dedup_read_ranges_and_go_when_deleted() {
        for encrypt in [true, false] {
            let (blobs, _index, _dir) = chunked(encrypt);
            let data = noise(9 * 1024 * 1024 + 77, 3);
            let a = ObjectPath::from("blobs/a");
            let stored = blobs
                .put_stream("ann", &a, chunks(&data, 65536), u64::MAX, &keys())
                .await
                .unwrap();
            assert_eq!(stored.sha256, hex::encode(Sha256::digest(&data)));
            let first = objects(&blobs).await;
            assert!(first.len() >= 3, "{} chunks", first.len());
            assert_eq!(read_all(blobs.get(&a, None).await.unwrap()).await, data);
            let part = read_all(blobs.get(&a, Some(5_000_000..5_000_100)).await.unwrap()).await;
            assert_eq!(part, data[5_000_000..5_000_100]);
            // The same content again, and one with an insertion: almost nothing new is stored.
            let b = ObjectPath::from("blobs/b");
            blobs
                .put_stream("ann", &b, chunks(&data, 4096), u64::MAX, &keys())
                .await
                .unwrap();
            assert_eq!(
                objects(&blobs).await.len(),
                first.len(),
                "identical content is stored once"
            );
            let mut edited = data.clone();
            edited.splice(10..10, b"an edit".iter().copied());
            let c = ObjectPath::from("blobs/c");
            blobs
                .put_stream("ann", &c, chunks(&edited, 65536), u64::MAX, &keys())
                .await
                .unwrap();
            assert!(objects(&blobs).await.len() <= first.len() + 2);
            assert_eq!(read_all(blobs.get(&c, None).await.unwrap()).await, edited);
            // Another owner's identical content shares nothing.
            let d = ObjectPath::from("blobs/d");
            blobs
                .put_stream("bob", &d, chunks(&data, 65536), u64::MAX, &keys())
                .await
                .unwrap();
            assert!(objects(&blobs).await.len() >= 2 * first.len());
            // Deleting drops references; chunks still used elsewhere stay.
            for k in [&a, &b, &c] {
                blobs.delete(k).await.unwrap();
            }
            assert_eq!(
                objects(&blobs).await.len(),
                first.len(),
                "only bob's are left"
            );
            blobs.delete(&d).await.unwrap();
            assert!(objects(&blobs).await.is_empty());
        }
    }

    #[tokio::test]
    async fn a_whole_read_checks_the_chunk_list_against_the_files_signature() {
        for encrypt in [true, false] {
            let (blobs, _index, _dir) = chunked(encrypt);
            let (a, b) = (ObjectPath::from("blobs/a"), ObjectPath::from("blobs/b"));
            let data_a = noise(2 * 1024 * 1024, 7);
            let sig_a = blobs
                .put_stream("ann", &a, chunks(&data_a, 65536), u64::MAX, &keys())
                .await
                .unwrap()
                .signature
                .to_string();
            let sig_b = blobs
                .put_stream("ann", &b, chunks(&noise(1000, 9), 65536), u64::MAX, &keys())
                .await
                .unwrap()
                .signature
                .to_string();
            let (s, checks_itself) = blobs.get_checked(&a, None, Some(&sig_a)).await.unwrap();
            assert!(checks_itself);
            assert_eq!(read_all(s).await, data_a);
            // File b's row pointed at a's content (a swapped key in the database).
            let (s, _) = blobs.get_checked(&a, None, Some(&sig_b)).await.unwrap();
            let err = s
                .try_fold(0usize, |n, x| async move { Ok(n + x.len()) })
                .await
                .unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
            assert!(err.to_string().contains("does not match"), "{err}");
            // A range is checked chunk by chunk only; the caller checks its length.
            let (_, checks_itself) = blobs
                .get_checked(&a, Some(0..10), Some(&sig_a))
                .await
                .unwrap();
            assert!(!checks_itself);
        }
    }

    #[tokio::test]
    async fn an_altered_or_missing_chunk_fails_the_read() {
        for encrypt in [true, false] {
            let (blobs, _index, _dir) = chunked(encrypt);
            let data = noise(3 * 1024 * 1024, 5);
            let a = ObjectPath::from("blobs/a");
            blobs
                .put_stream("ann", &a, chunks(&data, 65536), u64::MAX, &keys())
                .await
                .unwrap();
            let stored = objects(&blobs).await;
            if encrypt {
                // No object holds the start of the content (which lies in one of them).
                let needle = &data[..32];
                for o in &stored {
                    let b = blobs.store.get(o).await.unwrap().bytes().await.unwrap();
                    assert!(b.starts_with(b"SRC1"), "sealed");
                    assert!(!b.windows(32).any(|w| w == needle), "no plaintext at rest");
                }
            }
            let victim = stored[0].clone();
            let mut bytes = blobs
                .store
                .get(&victim)
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
                .to_vec();
            bytes[100] ^= 0x40;
            blobs
                .store
                .put(&victim, PutPayload::from(bytes))
                .await
                .unwrap();
            let err = blobs
                .get(&a, None)
                .await
                .unwrap()
                .try_fold(0usize, |n, b| async move { Ok(n + b.len()) })
                .await
                .unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
            assert!(err.to_string().contains("altered"), "{err}");
            blobs.store.delete(&victim).await.unwrap();
            let err = blobs
                .get(&a, None)
                .await
                .unwrap()
                .try_fold(0usize, |n, b| async move { Ok(n + b.len()) })
                .await
                .unwrap_err();
            assert!(err.to_string().contains("missing"), "{err}");
        }
    }

    /// The collector racing uploads of the same content, at random: an upload that dedups
    /// against chunks the collector is taking must still commit a readable content (memory
    /// index and SQLite). The exact interleaving (claim, pin, delete, forget) is played step by
    /// step on every backend by the store conformance suite, which is what fails when a pin does
    /// not take a claimed chunk back under a new generation.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_collector_never_takes_a_chunk_an_upload_is_about_to_use() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("race.db").display());
        let sql = Arc::new(crate::store::SqlStore::new(
            crate::store::Db::connect(&url, 4).await.unwrap(),
        ));
        crate::store::UserStore::create(
            sql.as_ref(),
            &crate::store::conformance::user("ann", "ann@example.com", false),
            &crate::store::conformance::event("account.registered"),
        )
        .await
        .unwrap();
        let memory = Arc::new(crate::store::MemoryStore::new());
        let indexes: [Arc<crate::store::chunks::DynChunkStore>; 2] = [memory, sql];
        for index in indexes {
            let keys_dir = tempfile::tempdir().unwrap();
            let keks = seal::Keks::open(keys_dir.path().to_owned()).unwrap();
            let data_keys = seal::DataKeys::new(Arc::new(keks), index.clone());
            let blobs = Blobs::open("memory://", &StorageConfig::default())
                .unwrap()
                .with_chunks(index, data_keys, true, Arc::new(crate::clock::SystemClock));
            let data = noise(1024 * 1024 + 999, 9);
            let collector = {
                let blobs = blobs.clone();
                tokio::spawn(async move {
                    for _ in 0..200 {
                        blobs
                            .collect_garbage(Duration::from_secs(3600))
                            .await
                            .unwrap();
                        tokio::task::yield_now().await;
                    }
                })
            };
            // Each round stores the content under a new key and drops the previous one, so its
            // chunks keep falling to zero references while the next upload dedups against them.
            let mut previous: Option<ObjectPath> = None;
            for round in 0..40 {
                let key = ObjectPath::from(format!("blobs/r{round}"));
                blobs
                    .put_stream("ann", &key, chunks(&data, 128 * 1024), u64::MAX, &keys())
                    .await
                    .unwrap();
                if let Some(p) = previous.replace(key.clone()) {
                    blobs.delete(&p).await.unwrap();
                }
                let back = read_all(blobs.get(&key, None).await.unwrap()).await;
                assert!(
                    back == data,
                    "round {round}: the content must read back whole"
                );
            }
            collector.await.unwrap();
            let last = previous.unwrap();
            assert!(read_all(blobs.get(&last, None).await.unwrap()).await == data);
            blobs.delete(&last).await.unwrap();
            blobs.collect_garbage(Duration::ZERO).await.unwrap();
            assert!(objects(&blobs).await.is_empty(), "nothing leaked");
        }
    }

    fn walk(p: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(p).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
        out
    }
}
