//! A directory of `.cedar` files (one document each, named by id) plus `links.json`.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{PolicyStore, StoreSnapshot, check_document, check_link};
use crate::bundle::{PolicyDocument, TemplateLink};
use crate::error::{Error, Result};

const LINKS_FILE: &str = "links.json";

/// A policy store in a directory: each `<id>.cedar` file is a document, `links.json` holds the
/// template links. Edit the files by hand or through the trait.
///
/// The version is a hash of the files' names and contents, so it changes whenever they do,
/// whoever edits them; a reloader notices changes by polling [`PolicyStore::version`]
/// (cheap for a directory of policy files), which works on every filesystem, network mounts included.
/// Writes through the trait are atomic per file (write then rename) but not across files,
/// and two processes writing at once may lose a link update.
#[derive(Debug, Clone)]
pub struct DirPolicyStore {
    root: PathBuf,
    /// Serialises this process's writers (the file system has no multi-file transactions).
    lock: std::sync::Arc<std::sync::Mutex<()>>,
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source: e,
    }
}

fn file_id_ok(id: &str) -> Result<()> {
    if id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !id.starts_with('.')
    {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "document id `{id}` cannot name a file: use letters, digits, `_-.` and do not start with `.`"
        )))
    }
}

impl DirPolicyStore {
    /// A store over `root` (created if missing).
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|e| io(&root, e))?;
        Ok(Self {
            root,
            lock: Default::default(),
        })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.root.join(name);
        let tmp = self.root.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, bytes).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))
    }

    fn read_links(&self) -> Result<Vec<TemplateLink>> {
        let path = self.root.join(LINKS_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::Store(format!(
                    "{} is not a JSON array of links: {e}",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(io(&path, e)),
        }
    }

    fn write_links(&self, links: &mut [TemplateLink]) -> Result<()> {
        links.sort_by(|a, b| a.id.cmp(&b.id));
        let json = serde_json::to_vec_pretty(links)
            .map_err(|e| Error::Store(format!("encoding links: {e}")))?;
        self.write_atomic(LINKS_FILE, &json)
    }

    /// Reads every document and link now, without a runtime (the trait's `snapshot` does the same).
    pub fn read_snapshot(&self) -> Result<StoreSnapshot> {
        self.read_all()
    }

    fn read_all(&self) -> Result<StoreSnapshot> {
        let mut documents = Vec::new();
        let entries = std::fs::read_dir(&self.root).map_err(|e| io(&self.root, e))?;
        let mut hash = Fnv::default();
        for entry in entries {
            let entry = entry.map_err(|e| io(&self.root, e))?;
            let path = entry.path();
            let Some(stem) = path
                .extension()
                .filter(|x| *x == "cedar")
                .and_then(|_| path.file_stem())
                .and_then(|s| s.to_str())
            else {
                continue;
            };
            if stem.starts_with('.') {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
            documents.push(PolicyDocument::new(stem, text));
        }
        documents.sort_by(|a, b| a.id.cmp(&b.id));
        for d in &documents {
            hash.write(d.id.as_bytes());
            hash.write(&[0]);
            hash.write(d.text.as_bytes());
            hash.write(&[0]);
        }
        let mut links = self.read_links()?;
        links.sort_by(|a, b| a.id.cmp(&b.id));
        hash.write(
            &serde_json::to_vec(&links)
                .map_err(|e| Error::Store(format!("encoding links: {e}")))?,
        );
        Ok(StoreSnapshot {
            version: hash.0,
            documents,
            links,
        })
    }

    fn locked<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        f()
    }
}

/// FNV-1a: a stable 64-bit content hash (std's hasher is randomised per process).
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[async_trait]
impl PolicyStore for DirPolicyStore {
    async fn put_document(&self, doc: &PolicyDocument) -> Result<u64> {
        check_document(doc)?;
        file_id_ok(&doc.id)?;
        self.locked(|| {
            self.write_atomic(&format!("{}.cedar", doc.id), doc.text.as_bytes())?;
            Ok(self.read_all()?.version)
        })
    }

    async fn delete_document(&self, id: &str) -> Result<u64> {
        file_id_ok(id)?;
        self.locked(|| {
            let path = self.root.join(format!("{id}.cedar"));
            match std::fs::remove_file(&path) {
                Ok(()) => Ok(self.read_all()?.version),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(Error::NotFound(format!("document `{id}`")))
                }
                Err(e) => Err(io(&path, e)),
            }
        })
    }

    async fn put_link(&self, link: &TemplateLink) -> Result<u64> {
        check_link(link)?;
        self.locked(|| {
            let mut links = self.read_links()?;
            if links.iter().any(|l| l.id == link.id) {
                return Err(Error::AlreadyExists(format!("link `{}`", link.id)));
            }
            links.push(link.clone());
            self.write_links(&mut links)?;
            Ok(self.read_all()?.version)
        })
    }

    async fn delete_link(&self, id: &str) -> Result<u64> {
        self.locked(|| {
            let mut links = self.read_links()?;
            let before = links.len();
            links.retain(|l| l.id != id);
            if links.len() == before {
                return Err(Error::NotFound(format!("link `{id}`")));
            }
            self.write_links(&mut links)?;
            Ok(self.read_all()?.version)
        })
    }

    async fn snapshot(&self) -> Result<StoreSnapshot> {
        self.read_all()
    }

    async fn version(&self) -> Result<u64> {
        Ok(self.read_all()?.version)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::DynPolicyStore;

    #[tokio::test]
    async fn conformance() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirPolicyStore::open(dir.path()).unwrap();
        crate::conformance::run_all(&store).await;
        let shared: Arc<DynPolicyStore> =
            Arc::new(DirPolicyStore::open(dir.path().join("b")).unwrap());
        crate::conformance::run_all(&shared).await;
    }

    #[tokio::test]
    async fn hand_edits_change_the_version_and_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirPolicyStore::open(dir.path()).unwrap();
        let v0 = store.version().await.unwrap();
        std::fs::write(
            dir.path().join("team.cedar"),
            "permit(principal, action, resource);",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let snap = store.snapshot().await.unwrap();
        assert_ne!(snap.version, v0);
        assert_eq!(
            snap.documents,
            vec![PolicyDocument::new(
                "team",
                "permit(principal, action, resource);"
            )]
        );
        std::fs::write(dir.path().join(LINKS_FILE), "{not json").unwrap();
        assert!(matches!(store.snapshot().await, Err(Error::Store(_))));
        assert!(matches!(
            store
                .put_document(&PolicyDocument::new(
                    "a/b",
                    "permit(principal, action, resource);"
                ))
                .await,
            Err(Error::InvalidInput(_))
        ));
    }
}
