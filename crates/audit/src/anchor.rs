//! Checkpoints kept outside the database, so that cutting off or emptying the chain is noticed.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use crate::{ChainId, Checkpoint, CheckpointKind, Digest, Error, Result};

/// Where [`AuditLog`](crate::AuditLog) saves every signed checkpoint it takes, somewhere an
/// attacker with write access to the audit database cannot rewrite (another disk, another
/// machine, a write-once bucket). Not to be confused with the retention *anchor*
/// ([`CheckpointKind::Anchor`]), which lives in the database.
///
/// [`AuditLog::verify`](crate::AuditLog::verify) loads the newest saved checkpoint and reports
/// [`TamperKind::Truncated`](crate::TamperKind::Truncated) when the store no longer holds its
/// record (the tail was cut off or the chain emptied) and
/// [`TamperKind::AnchorMismatch`](crate::TamperKind::AnchorMismatch) when that record's hash
/// differs.
///
/// The contract:
/// - [`save`](CheckpointAnchor::save) never moves backwards: a checkpoint whose `seq` is not
///   above the saved one for its chain is ignored (`Ok`), also when several processes save at
///   once;
/// - [`load`](CheckpointAnchor::load) returns the newest checkpoint saved for the chain;
/// - only [`CheckpointKind::Checkpoint`] is accepted ([`Error::Invalid`] otherwise);
/// - an anchor belongs to one database: two databases holding chains of the same name must not
///   share one, or each looks truncated to the other.
#[async_trait]
pub trait CheckpointAnchor: Debug + Send + Sync + 'static {
    /// Saves `checkpoint` durably if it is newer than the one saved for its chain.
    async fn save(&self, checkpoint: &Checkpoint) -> Result<()>;

    /// The newest checkpoint saved for `chain`.
    async fn load(&self, chain: &ChainId) -> Result<Option<Checkpoint>>;
}

/// `dyn CheckpointAnchor`, for `Arc<DynCheckpointAnchor>`.
pub type DynCheckpointAnchor = dyn CheckpointAnchor;

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: CheckpointAnchor + ?Sized> CheckpointAnchor for Arc<T> {
    async fn save(&self, checkpoint: &Checkpoint) -> Result<()> {
        (**self).save(checkpoint).await
    }

    async fn load(&self, chain: &ChainId) -> Result<Option<Checkpoint>> {
        (**self).load(chain).await
    }
}

fn check_kind(checkpoint: &Checkpoint) -> Result<()> {
    if checkpoint.kind != CheckpointKind::Checkpoint {
        return Err(Error::invalid(
            "checkpoint",
            "only checkpoints are anchored, not retention anchors or heads",
        ));
    }
    Ok(())
}

/// A [`CheckpointAnchor`] in memory: for tests, and for a process that hands checkpoints on to
/// somewhere else. Clones share the same checkpoints.
#[derive(Debug, Clone, Default)]
pub struct MemoryCheckpointAnchor {
    saved: Arc<Mutex<HashMap<ChainId, Checkpoint>>>,
}

impl MemoryCheckpointAnchor {
    /// An empty anchor.
    pub fn new() -> MemoryCheckpointAnchor {
        MemoryCheckpointAnchor::default()
    }
}

#[async_trait]
impl CheckpointAnchor for MemoryCheckpointAnchor {
    async fn save(&self, checkpoint: &Checkpoint) -> Result<()> {
        check_kind(checkpoint)?;
        let mut saved = self.saved.lock().unwrap_or_else(|e| e.into_inner());
        if saved
            .get(&checkpoint.chain)
            .is_none_or(|old| old.seq < checkpoint.seq)
        {
            saved.insert(checkpoint.chain.clone(), checkpoint.clone());
        }
        Ok(())
    }

    async fn load(&self, chain: &ChainId) -> Result<Option<Checkpoint>> {
        let saved = self.saved.lock().unwrap_or_else(|e| e.into_inner());
        Ok(saved.get(chain).cloned())
    }
}

/// A [`CheckpointAnchor`] in one JSON file (newest checkpoint per chain), for a path on a
/// different disk or machine than the database (a network mount, a volume the database
/// administrator cannot write).
///
/// Each save takes an exclusive lock on `<path>.lock` (so saves from several processes are
/// serialized and the file never moves backwards), writes a temporary file next to `path` with
/// mode 0600, fsyncs it, renames it over `path` and fsyncs the directory: a reader sees the old
/// file or the new one, never a torn one.
#[derive(Debug, Clone)]
pub struct FileCheckpointAnchor {
    path: PathBuf,
}

impl FileCheckpointAnchor {
    /// An anchor kept at `path` (created by the first save; its directory must exist).
    pub fn new(path: impl Into<PathBuf>) -> FileCheckpointAnchor {
        FileCheckpointAnchor { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn io_error(context: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::unavailable(context, e)
}

#[async_trait]
impl CheckpointAnchor for FileCheckpointAnchor {
    async fn save(&self, checkpoint: &Checkpoint) -> Result<()> {
        check_kind(checkpoint)?;
        let path = self.path.clone();
        let checkpoint = checkpoint.clone();
        tokio::task::spawn_blocking(move || save_file(&path, &checkpoint))
            .await
            .map_err(|e| Error::unavailable("saving the anchored checkpoint", e))?
    }

    async fn load(&self, chain: &ChainId) -> Result<Option<Checkpoint>> {
        let path = self.path.clone();
        let mut all = tokio::task::spawn_blocking(move || read_file(&path))
            .await
            .map_err(|e| Error::unavailable("reading the anchored checkpoint", e))??;
        Ok(all.remove(chain))
    }
}

fn open_private(path: &Path, options: &mut std::fs::OpenOptions) -> std::io::Result<std::fs::File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn save_file(path: &Path, checkpoint: &Checkpoint) -> Result<()> {
    let lock = open_private(
        &with_suffix(path, ".lock"),
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false),
    )
    .map_err(io_error("opening the anchor lock file"))?;
    // Held until `lock` is dropped: read, compare and replace as one step across processes.
    lock.lock().map_err(io_error("locking the anchor file"))?;
    let mut all = read_file(path)?;
    if all
        .get(&checkpoint.chain)
        .is_some_and(|old| old.seq >= checkpoint.seq)
    {
        return Ok(());
    }
    all.insert(checkpoint.chain.clone(), checkpoint.clone());
    let mut doc = Map::new();
    for (chain, cp) in &all {
        doc.insert(chain.as_str().to_owned(), to_json(cp));
    }
    let bytes = Value::Object(doc).to_string();
    let tmp = with_suffix(path, &format!(".tmp-{}", uuid::Uuid::now_v7().simple()));
    let written = (|| {
        let mut file = open_private(
            &tmp,
            std::fs::OpenOptions::new().write(true).create_new(true),
        )?;
        file.write_all(bytes.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(io_error("writing the anchor file"))
}

fn read_file(path: &Path) -> Result<BTreeMap<ChainId, Checkpoint>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(io_error("reading the anchor file")(e)),
    };
    let doc: Map<String, Value> =
        serde_json::from_str(&text).map_err(|e| Error::malformed("anchor file", e))?;
    let mut all = BTreeMap::new();
    for (chain, value) in doc {
        let chain = ChainId::new(chain)?;
        all.insert(chain.clone(), from_json(chain, &value)?);
    }
    Ok(all)
}

fn to_json(cp: &Checkpoint) -> Value {
    serde_json::json!({
        "seq": cp.seq,
        "head": cp.head.to_hex(),
        "time_us": cp.time.as_microsecond(),
        "key_id": cp.key_id,
        "signature": STANDARD.encode(cp.signature),
    })
}

fn from_json(chain: ChainId, value: &Value) -> Result<Checkpoint> {
    let bad = |field: &str| Error::malformed("anchor file", format!("bad or missing {field}"));
    let text = |field: &'static str| value.get(field).and_then(Value::as_str).ok_or(bad(field));
    let signature: [u8; 64] = STANDARD
        .decode(text("signature")?)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(bad("signature"))?;
    let time_us = value
        .get("time_us")
        .and_then(Value::as_i64)
        .ok_or(bad("time_us"))?;
    Ok(Checkpoint {
        chain,
        kind: CheckpointKind::Checkpoint,
        seq: value.get("seq").and_then(Value::as_u64).ok_or(bad("seq"))?,
        head: Digest::from_hex(text("head")?).map_err(|_| bad("head"))?,
        time: jiff::Timestamp::from_microsecond(time_us).map_err(|_| bad("time_us"))?,
        key_id: text("key_id")?.to_owned(),
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CheckpointSigner;

    fn cp(chain: &ChainId, seq: u64) -> Checkpoint {
        CheckpointSigner::from_seed(&[5; 32]).sign(
            chain,
            CheckpointKind::Checkpoint,
            seq,
            Digest([seq as u8; 32]),
            jiff::Timestamp::from_second(1_800_000_000).unwrap(),
        )
    }

    async fn never_moves_backwards(anchor: &DynCheckpointAnchor) {
        let a = ChainId::new("a").unwrap();
        let b = ChainId::new("b").unwrap();
        assert_eq!(anchor.load(&a).await.unwrap(), None);
        anchor.save(&cp(&a, 5)).await.unwrap();
        anchor.save(&cp(&b, 2)).await.unwrap();
        anchor.save(&cp(&a, 3)).await.unwrap();
        assert_eq!(anchor.load(&a).await.unwrap(), Some(cp(&a, 5)));
        anchor.save(&cp(&a, 9)).await.unwrap();
        assert_eq!(anchor.load(&a).await.unwrap(), Some(cp(&a, 9)));
        assert_eq!(anchor.load(&b).await.unwrap(), Some(cp(&b, 2)));
        let mut head = cp(&a, 10);
        head.kind = CheckpointKind::Head;
        assert!(matches!(
            anchor.save(&head).await,
            Err(Error::Invalid { .. })
        ));
    }

    #[tokio::test]
    async fn memory_anchor_never_moves_backwards() {
        never_moves_backwards(&MemoryCheckpointAnchor::new()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn file_anchor_never_moves_backwards_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("anchor.json");
        let anchor = FileCheckpointAnchor::new(&path);
        never_moves_backwards(&anchor).await;
        // A second handle (another process) sees the same checkpoints.
        let again = FileCheckpointAnchor::new(&path);
        let a = ChainId::new("a").unwrap();
        assert_eq!(again.load(&a).await.unwrap().map(|c| c.seq), Some(9));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary files are left behind.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_file_saves_keep_the_highest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("anchor.json");
        let chain = ChainId::new("race").unwrap();
        let mut tasks = Vec::new();
        for writer in 0..4u64 {
            // Separate handles, as separate processes would have.
            let anchor = FileCheckpointAnchor::new(&path);
            let chain = chain.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..15u64 {
                    anchor.save(&cp(&chain, 1 + i * 4 + writer)).await.unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let saved = FileCheckpointAnchor::new(&path).load(&chain).await.unwrap();
        assert_eq!(saved.map(|c| c.seq), Some(60));
    }

    #[tokio::test]
    async fn a_corrupt_file_is_an_error_not_an_empty_anchor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("anchor.json");
        std::fs::write(&path, "{not json").unwrap();
        let anchor = FileCheckpointAnchor::new(&path);
        let chain = ChainId::new("a").unwrap();
        assert!(matches!(
            anchor.load(&chain).await,
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            anchor.save(&cp(&chain, 1)).await,
            Err(Error::Malformed { .. })
        ));
    }
}
