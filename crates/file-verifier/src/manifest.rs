use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::algorithm::{DigestState, truncate};
use crate::io::{for_each_block, read_stable_file};
use crate::{Algorithm, Error, KeyRing, Result, Signature};

const FORMAT: &str = "strongroom-manifest/1";

/// A signed inventory of a directory tree: every file's size and digest, every directory,
/// symlink (with its target, never followed) and special file, under one signature.
///
/// Files are hashed with the digest matching the ring's algorithm (SHA-256 or BLAKE3) and the
/// manifest as a whole is signed, which authenticates every digest at the cost of one MAC;
/// SHA-256 digests compare directly with `sha256sum`.
///
/// ```
/// use strongroom_file_verifier::{KeyRing, Manifest, SecretKey};
///
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("a.txt"), "alpha")?;
/// let mut ring = KeyRing::new();
/// ring.insert_signing_key("k1", SecretKey::generate()?)?;
///
/// let manifest = ring.create_manifest(dir.path())?;
/// let stored = manifest.to_json();
///
/// std::fs::write(dir.path().join("a.txt"), "tampered")?;
/// std::fs::write(dir.path().join("b.txt"), "new")?;
/// let report = ring.verify_manifest(&Manifest::from_json(&stored)?, dir.path())?;
/// assert_eq!(report.added, ["b.txt"]);
/// assert_eq!(report.modified[0].path, "a.txt");
/// assert!(!report.is_clean());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    algorithm: Algorithm,
    entries: Vec<Entry>,
    signature: Signature,
}

/// One path in a [`Manifest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Entry {
    /// Path relative to the tree's root, `/`-separated, never absolute, never containing `..`.
    pub path: String,
    /// What the path is, with what is recorded for that kind.
    #[serde(flatten)]
    pub kind: EntryKind,
}

/// What a manifest entry is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntryKind {
    /// A regular file.
    File {
        /// Length in bytes.
        size: u64,
        /// Lowercase hex digest of the contents (SHA-256 or BLAKE3, per the manifest's algorithm).
        digest: String,
    },
    /// A directory (recorded so that added or removed empty directories show up).
    Directory,
    /// A symbolic link, recorded by its target and never followed.
    Symlink {
        /// The link's target as stored in the link.
        target: String,
    },
    /// A FIFO, socket or device node: its presence is recorded, its contents never read.
    Special,
}

impl EntryKind {
    fn name(&self) -> &'static str {
        match self {
            EntryKind::File { .. } => "file",
            EntryKind::Directory => "directory",
            EntryKind::Symlink { .. } => "symlink",
            EntryKind::Special => "special",
        }
    }
}

/// The differences between a manifest and a tree, from [`KeyRing::verify_manifest`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ManifestReport {
    /// Paths in the tree that the manifest does not list.
    pub added: Vec<String>,
    /// Paths the manifest lists that are gone from the tree.
    pub removed: Vec<String>,
    /// Paths present in both whose kind, size, contents or link target differ.
    pub modified: Vec<Modified>,
    /// Paths that could not be read (permissions, I/O errors, changed while read).
    pub unreadable: Vec<Unreadable>,
    /// Number of manifest entries examined.
    pub checked: usize,
}

impl ManifestReport {
    /// True when the tree matches the manifest exactly.
    pub fn is_clean(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.modified.is_empty()
            && self.unreadable.is_empty()
    }
}

/// A path whose state differs from its manifest entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Modified {
    /// The path, relative to the tree's root.
    pub path: String,
    /// What differs (serialised inline: `{"path", "change": "size", "expected", "actual"}`).
    #[serde(flatten)]
    pub change: Change,
}

/// What differs about a [`Modified`] path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Change {
    /// The path is now another kind of thing (say a file replaced by a symlink).
    Kind {
        /// Kind in the manifest.
        expected: &'static str,
        /// Kind in the tree.
        actual: &'static str,
    },
    /// The file's length differs.
    Size {
        /// Length in the manifest.
        expected: u64,
        /// Length in the tree.
        actual: u64,
    },
    /// The file has its recorded length but other contents.
    Content,
    /// The symlink points elsewhere.
    SymlinkTarget {
        /// Target in the manifest.
        expected: String,
        /// Target in the tree.
        actual: String,
    },
}

/// A path that could not be read while verifying.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Unreadable {
    /// The path, relative to the tree's root.
    pub path: String,
    /// Why it could not be read.
    pub error: String,
}

#[derive(Serialize)]
struct Canonical<'a> {
    format: &'a str,
    algorithm: Algorithm,
    entries: &'a [Entry],
}

#[derive(Serialize, Deserialize)]
struct Stored {
    format: String,
    algorithm: Algorithm,
    entries: Vec<Entry>,
    signature: Signature,
}

impl Manifest {
    /// The digest and MAC algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The entries, sorted by path.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The signature over the manifest.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The stored JSON form (`strongroom-manifest/1`).
    pub fn to_json(&self) -> String {
        let stored = Stored {
            format: FORMAT.into(),
            algorithm: self.algorithm,
            entries: self.entries.clone(),
            signature: self.signature.clone(),
        };
        serde_json::to_string_pretty(&stored).expect("a manifest always serialises")
    }

    /// Parses the JSON form, refusing unsafe paths (absolute, `..`, empty or `.` components,
    /// backslashes, NUL) and duplicate or unsorted entries. The signature is checked against a
    /// key by [`KeyRing::verify_manifest`].
    pub fn from_json(text: &str) -> Result<Self> {
        let stored: Stored =
            serde_json::from_str(text).map_err(|e| Error::malformed("manifest", e.to_string()))?;
        if stored.format != FORMAT {
            return Err(Error::UnknownVersion {
                version: truncate(&stored.format),
            });
        }
        if stored.signature.algorithm() != stored.algorithm {
            return Err(Error::malformed(
                "manifest",
                "the signature's algorithm differs from the manifest's",
            ));
        }
        for entry in &stored.entries {
            check_relative_path(&entry.path)?;
            if let EntryKind::File { digest, .. } = &entry.kind
                && (digest.len() != 64
                    || !digest
                        .bytes()
                        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            {
                return Err(Error::malformed(
                    "manifest",
                    format!("digest of `{}` is not 64 lowercase hex digits", entry.path),
                ));
            }
        }
        if let Some(pair) = stored.entries.windows(2).find(|w| w[0].path >= w[1].path) {
            return Err(Error::malformed(
                "manifest",
                format!("entries not sorted or duplicated at `{}`", pair[1].path),
            ));
        }
        Ok(Manifest {
            algorithm: stored.algorithm,
            entries: stored.entries,
            signature: stored.signature,
        })
    }

    fn canonical_bytes(algorithm: Algorithm, entries: &[Entry]) -> Vec<u8> {
        serde_json::to_vec(&Canonical {
            format: FORMAT,
            algorithm,
            entries,
        })
        .expect("entries always serialise")
    }
}

/// Refuses any manifest path that could name something outside the tree.
fn check_relative_path(path: &str) -> Result<()> {
    let refuse = |reason| {
        Err(Error::UnsafePath {
            path: truncate(path),
            reason,
        })
    };
    if path.is_empty() {
        return refuse("empty path");
    }
    if path.starts_with('/') {
        return refuse("absolute path");
    }
    if path.contains('\\') || path.contains('\0') {
        return refuse("backslash or NUL in path");
    }
    for component in path.split('/') {
        match component {
            "" => return refuse("empty component"),
            "." => return refuse("`.` component"),
            ".." => return refuse("`..` component"),
            _ => {}
        }
    }
    Ok(())
}

/// What a walk of the tree found at one path.
enum Found {
    File { abs: PathBuf, size: u64 },
    Directory,
    Symlink { target: String },
    Special,
}

impl Found {
    fn name(&self) -> &'static str {
        match self {
            Found::File { .. } => "file",
            Found::Directory => "directory",
            Found::Symlink { .. } => "symlink",
            Found::Special => "special",
        }
    }
}

/// Walks `root` without following symlinks. Paths that cannot be represented or read come back
/// in the second list.
fn scan(root: &Path) -> Result<(BTreeMap<String, Found>, Vec<Unreadable>)> {
    let meta = std::fs::metadata(root).map_err(|e| Error::io(root, e))?;
    if !meta.is_dir() {
        return Err(Error::io(
            root,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a directory"),
        ));
    }
    let mut found = BTreeMap::new();
    let mut unreadable = Vec::new();
    for item in walkdir::WalkDir::new(root)
        .follow_links(false)
        .min_depth(1)
        .sort_by_file_name()
    {
        let item = match item {
            Ok(item) => item,
            Err(e) => {
                let path = e
                    .path()
                    .map(|p| relative(root, p).unwrap_or_else(|| p.display().to_string()));
                unreadable.push(Unreadable {
                    path: path.unwrap_or_default(),
                    error: e.to_string(),
                });
                continue;
            }
        };
        let Some(rel) = relative(root, item.path()) else {
            unreadable.push(Unreadable {
                path: item.path().to_string_lossy().into_owned(),
                error: "path is not valid UTF-8".into(),
            });
            continue;
        };
        let file_type = item.file_type();
        let entry = if file_type.is_symlink() {
            match std::fs::read_link(item.path()) {
                Ok(target) => match target.to_str() {
                    Some(target) => Found::Symlink {
                        target: target.to_owned(),
                    },
                    None => {
                        unreadable.push(Unreadable {
                            path: rel,
                            error: "symlink target is not valid UTF-8".into(),
                        });
                        continue;
                    }
                },
                Err(e) => {
                    unreadable.push(Unreadable {
                        path: rel,
                        error: e.to_string(),
                    });
                    continue;
                }
            }
        } else if file_type.is_dir() {
            Found::Directory
        } else if file_type.is_file() {
            match item.metadata() {
                Ok(meta) => Found::File {
                    abs: item.path().to_owned(),
                    size: meta.len(),
                },
                Err(e) => {
                    unreadable.push(Unreadable {
                        path: rel,
                        error: e.to_string(),
                    });
                    continue;
                }
            }
        } else {
            Found::Special
        };
        found.insert(rel, entry);
    }
    Ok((found, unreadable))
}

fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts = rel
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect::<Option<Vec<_>>>()?;
    Some(parts.join("/"))
}

fn digest_file(algorithm: Algorithm, path: &Path) -> Result<String> {
    read_stable_file(path, |file, _| {
        let mut digest = DigestState::new(algorithm);
        let len = for_each_block(file, |block| digest.update(block))?;
        Ok((hex::encode(digest.finalize()), len))
    })
}

impl KeyRing {
    /// Walks `root` (symlinks recorded, never followed), hashes every regular file on all cores,
    /// and signs the result. Fails if any path cannot be read or represented, rather than
    /// producing a manifest with holes.
    pub fn create_manifest(&self, root: impl AsRef<Path>) -> Result<Manifest> {
        let root = root.as_ref();
        let (found, unreadable) = scan(root)?;
        if let Some(first) = unreadable.into_iter().next() {
            return Err(Error::io(
                root.join(&first.path),
                std::io::Error::other(format!("cannot record `{}`: {}", first.path, first.error)),
            ));
        }
        let algorithm = self.algorithm();
        let entries = found
            .into_par_iter()
            .map(|(path, found)| {
                let kind = match found {
                    Found::File { abs, .. } => {
                        let digest = digest_file(algorithm, &abs)?;
                        let size = std::fs::symlink_metadata(&abs)
                            .map_err(|e| Error::io(&abs, e))?
                            .len();
                        EntryKind::File { size, digest }
                    }
                    Found::Directory => EntryKind::Directory,
                    Found::Symlink { target } => EntryKind::Symlink { target },
                    Found::Special => EntryKind::Special,
                };
                Ok(Entry { path, kind })
            })
            .collect::<Result<Vec<_>>>()?;
        let signature = self.sign(&Manifest::canonical_bytes(algorithm, &entries))?;
        Ok(Manifest {
            algorithm,
            entries,
            signature,
        })
    }

    /// Checks the manifest's signature, then compares it with the tree at `root` on all cores.
    ///
    /// A bad signature is an error ([`Error::Mismatch`]); differences in the tree are data, in
    /// the returned report.
    pub fn verify_manifest(
        &self,
        manifest: &Manifest,
        root: impl AsRef<Path>,
    ) -> Result<ManifestReport> {
        let root = root.as_ref();
        self.verify(
            &Manifest::canonical_bytes(manifest.algorithm, &manifest.entries),
            &manifest.signature,
        )?;
        for entry in &manifest.entries {
            check_relative_path(&entry.path)?;
        }
        let (mut found, unreadable) = scan(root)?;
        let mut report = ManifestReport {
            unreadable,
            checked: manifest.entries.len(),
            ..Default::default()
        };

        enum Outcome {
            Same,
            Modified(Change),
            Unreadable(String),
        }
        let pairs: Vec<(&Entry, Option<Found>)> = manifest
            .entries
            .iter()
            .map(|entry| (entry, found.remove(&entry.path)))
            .collect();
        let outcomes: Vec<(&Entry, Option<Outcome>)> = pairs
            .into_par_iter()
            .map(|(entry, actual)| {
                let Some(actual) = actual else {
                    return (entry, None);
                };
                let outcome = match (&entry.kind, actual) {
                    (
                        EntryKind::File { size, digest },
                        Found::File {
                            abs,
                            size: actual_size,
                        },
                    ) => {
                        if *size != actual_size {
                            Outcome::Modified(Change::Size {
                                expected: *size,
                                actual: actual_size,
                            })
                        } else {
                            match digest_file(manifest.algorithm, &abs) {
                                Ok(actual) if actual == *digest => Outcome::Same,
                                Ok(_) => Outcome::Modified(Change::Content),
                                Err(e) => Outcome::Unreadable(e.to_string()),
                            }
                        }
                    }
                    (EntryKind::Symlink { target }, Found::Symlink { target: actual }) => {
                        if *target == actual {
                            Outcome::Same
                        } else {
                            Outcome::Modified(Change::SymlinkTarget {
                                expected: target.clone(),
                                actual,
                            })
                        }
                    }
                    (EntryKind::Directory, Found::Directory)
                    | (EntryKind::Special, Found::Special) => Outcome::Same,
                    (expected, actual) => Outcome::Modified(Change::Kind {
                        expected: expected.name(),
                        actual: actual.name(),
                    }),
                };
                (entry, Some(outcome))
            })
            .collect();

        // Paths already listed as unreadable by the walk are not also reported as removed.
        let unreadable_paths: Vec<String> =
            report.unreadable.iter().map(|u| u.path.clone()).collect();
        for (entry, outcome) in outcomes {
            match outcome {
                None if unreadable_paths.contains(&entry.path) => {}
                None => report.removed.push(entry.path.clone()),
                Some(Outcome::Same) => {}
                Some(Outcome::Modified(change)) => report.modified.push(Modified {
                    path: entry.path.clone(),
                    change,
                }),
                Some(Outcome::Unreadable(error)) => report.unreadable.push(Unreadable {
                    path: entry.path.clone(),
                    error,
                }),
            }
        }
        report.added = found.into_keys().collect();
        Ok(report)
    }
}
