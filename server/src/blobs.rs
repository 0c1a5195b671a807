//! Blob storage through object_store: local disk by default, S3 by configuration.
//!
//! An upload streams: each chunk goes to the store and, on two other threads, into SHA-256 and
//! the file-verifier signer, so hashing overlaps the I/O instead of following it. Nothing holds
//! the whole file in memory. A blob is visible under its key only once complete (local disk:
//! staged then renamed; S3: multipart completion).

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
            });
        }
        if url == "memory://" {
            return Ok(Blobs {
                store: Arc::new(InMemory::new()),
                kind: "memory",
                local_root: None,
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
        })
    }

    /// `local`, `s3` or `memory`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The key of a file's blob: its id, never a user-supplied name.
    pub fn key(file_id: &str) -> ObjectPath {
        ObjectPath::from(format!("blobs/{file_id}"))
    }

    /// Streams `body` into the blob `key`, hashing and signing alongside; refuses more than `max`
    /// bytes (the partial upload is aborted, nothing becomes visible).
    pub async fn put_stream<S, E>(
        &self,
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
        let result = self.write(key, body, max, &mut hashers).await;
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

    /// Opens `key`, whole or a byte range of it.
    pub async fn get(
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

    /// Deletes `key` (missing is fine).
    pub async fn delete(&self, key: &ObjectPath) -> Result<(), Error> {
        match self.store.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Blob ids last modified more than `age` ago.
    pub async fn older_than(&self, age: Duration) -> Result<Vec<String>, Error> {
        let cutoff = jiff::Timestamp::now().as_second() - age.as_secs() as i64;
        let prefix = ObjectPath::from("blobs");
        let metas: Vec<_> = self.store.list(Some(&prefix)).try_collect().await?;
        Ok(metas
            .into_iter()
            .filter(|m| m.last_modified.timestamp() < cutoff)
            .filter_map(|m| m.location.filename().map(str::to_owned))
            .collect())
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
/// Chunks queued per hashing thread (a chunk is at most a receive buffer).
const HASH_QUEUE: usize = 16;

/// SHA-256 and the signer, fed the same chunks: inline at first, then on their own threads.
enum Hashers {
    Inline {
        sha: Box<Sha256>,
        mac: Box<strongroom_file_verifier::Signer>,
        fed: u64,
    },
    Threads {
        sha: tokio::sync::mpsc::Sender<Bytes>,
        mac: tokio::sync::mpsc::Sender<Bytes>,
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
        let (sha_tx, mut sha_rx) = tokio::sync::mpsc::channel::<Bytes>(HASH_QUEUE);
        let (mac_tx, mut mac_rx) = tokio::sync::mpsc::channel::<Bytes>(HASH_QUEUE);
        let sha_done = tokio::task::spawn_blocking(move || {
            let mut h = *sha;
            while let Some(b) = sha_rx.blocking_recv() {
                h.update(&b);
            }
            h.finalize().into()
        });
        let mac_done = tokio::task::spawn_blocking(move || {
            let mut signer = *mac;
            while let Some(b) = mac_rx.blocking_recv() {
                signer.update(&b);
            }
            signer.finish()
        });
        *self = Hashers::Threads {
            sha: sha_tx,
            mac: mac_tx,
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
        let Hashers::Threads { sha, mac, .. } = self else {
            return Err(Error::Internal("hashing state lost".into()));
        };
        let gone = |_| Error::Internal("hashing thread stopped".into());
        sha.send(chunk.clone()).await.map_err(gone)?;
        mac.send(chunk.clone()).await.map_err(gone)?;
        Ok(())
    }

    async fn finish(self) -> Result<(String, Signature), Error> {
        match self {
            Hashers::Inline { sha, mac, .. } => Ok((hex::encode(sha.finalize()), mac.finish())),
            Hashers::Threads {
                sha,
                mac,
                sha_done,
                mac_done,
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
                .put_stream(&key, chunks(&data, 65536), u64::MAX, &k)
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
                .put_stream(&key, chunks(&data, 65536), max, &keys())
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
