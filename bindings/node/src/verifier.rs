//! KeyRing, Signer/Verifier, ChunkMap and Manifest for JavaScript. File work runs on the libuv
//! thread pool and returns Promises.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use napi::bindgen_prelude::*;
use napi_derive::napi;
use strongroom_file_verifier as core;

use crate::errors::{invalid_arg, verifier_error};

fn parse_signature(text: &str) -> Result<core::Signature> {
    text.parse().map_err(verifier_error)
}

fn offset(value: i64, name: &str) -> Result<u64> {
    u64::try_from(value).map_err(|_| invalid_arg(&format!("{name} must be a non-negative integer")))
}

/// The keys used to sign and verify: one signing key, older keys verify only.
#[napi]
pub struct KeyRing {
    ring: RwLock<Arc<core::KeyRing>>,
}

impl KeyRing {
    fn snapshot(&self) -> Arc<core::KeyRing> {
        Arc::clone(&self.ring.read().expect("key ring lock poisoned"))
    }

    fn update<T>(&self, f: impl FnOnce(&mut core::KeyRing) -> core::Result<T>) -> Result<T> {
        let mut guard = self.ring.write().expect("key ring lock poisoned");
        f(Arc::make_mut(&mut guard)).map_err(verifier_error)
    }
}

#[napi]
impl KeyRing {
    /// Creates an empty key ring; `algorithm` is "hmac-sha256" (default) or "blake3-keyed".
    #[napi(constructor)]
    pub fn new(algorithm: Option<String>) -> Result<Self> {
        let algorithm = match algorithm {
            Some(name) => name.parse().map_err(verifier_error)?,
            None => core::Algorithm::default(),
        };
        Ok(KeyRing {
            ring: RwLock::new(Arc::new(core::KeyRing::with_algorithm(algorithm))),
        })
    }

    /// Adds a key (32 to 1024 bytes) and makes it the signing key.
    #[napi]
    pub fn add_signing_key(&self, kid: String, key: Buffer) -> Result<()> {
        let key = core::SecretKey::from_bytes(&key).map_err(verifier_error)?;
        self.update(|ring| ring.insert_signing_key(&kid, key))
    }

    /// Adds a key that only verifies.
    #[napi]
    pub fn add_verify_key(&self, kid: String, key: Buffer) -> Result<()> {
        let key = core::SecretKey::from_bytes(&key).map_err(verifier_error)?;
        self.update(|ring| ring.insert_verify_key(&kid, key))
    }

    /// Stops signing with `kid`; it still verifies.
    #[napi]
    pub fn retire(&self, kid: String) -> Result<()> {
        self.update(|ring| ring.retire(&kid))
    }

    /// Removes `kid`; what it signed no longer verifies. Returns whether it was present.
    #[napi]
    pub fn remove(&self, kid: String) -> Result<bool> {
        self.update(|ring| Ok(ring.remove(&kid)))
    }

    /// The id of the signing key, if any.
    #[napi(getter)]
    pub fn signing_kid(&self) -> Option<String> {
        self.snapshot().signing_kid().map(|k| k.to_string())
    }

    /// Every key id in the ring, sorted.
    #[napi(getter)]
    pub fn kids(&self) -> Vec<String> {
        self.snapshot().kids().map(|k| k.to_string()).collect()
    }

    /// The algorithm new signatures use.
    #[napi(getter)]
    pub fn algorithm(&self) -> String {
        self.snapshot().algorithm().to_string()
    }

    /// Signs a Buffer; returns the signature string `sr1:ALGORITHM:KID:MAC`.
    #[napi]
    pub fn sign(&self, data: Buffer) -> Result<String> {
        self.snapshot()
            .sign(&data)
            .map(|s| s.to_string())
            .map_err(verifier_error)
    }

    /// Verifies a Buffer against a signature string; throws ERR_STRONGROOM_MISMATCH if they differ.
    #[napi]
    pub fn verify(&self, data: Buffer, signature: String) -> Result<()> {
        self.snapshot()
            .verify(&data, &parse_signature(&signature)?)
            .map_err(verifier_error)
    }

    /// Starts an incremental signature: feed it the chunks of a stream, then call `finish()`.
    #[napi]
    pub fn signer(&self) -> Result<Signer> {
        Ok(Signer {
            inner: Some(self.snapshot().signer().map_err(verifier_error)?),
        })
    }

    /// Starts an incremental verification of `signature`.
    #[napi]
    pub fn verifier(&self, signature: String) -> Result<Verifier> {
        let verifier = self
            .snapshot()
            .verifier(&parse_signature(&signature)?)
            .map_err(verifier_error)?;
        Ok(Verifier {
            inner: Some(verifier),
        })
    }

    /// Signs a file on the thread pool, in constant memory.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn sign_file(&self, path: String) -> AsyncTask<FileJob> {
        AsyncTask::new(FileJob {
            ring: self.snapshot(),
            path: path.into(),
            kind: JobKind::Sign,
        })
    }

    /// Verifies a file against a signature string, on the thread pool.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn verify_file(&self, path: String, signature: String) -> Result<AsyncTask<FileJob>> {
        let signature = parse_signature(&signature)?;
        Ok(AsyncTask::new(FileJob {
            ring: self.snapshot(),
            path: path.into(),
            kind: JobKind::Verify(signature),
        }))
    }

    /// Builds a chunk map of a file (default chunk size 1 MiB), on the thread pool.
    #[napi(ts_return_type = "Promise<ChunkMap>")]
    pub fn chunk_map(&self, path: String, chunk_size: Option<u32>) -> AsyncTask<ChunkMapJob> {
        let chunk_size = chunk_size.unwrap_or(core::ChunkMap::DEFAULT_CHUNK_SIZE);
        AsyncTask::new(ChunkMapJob {
            ring: self.snapshot(),
            path: path.into(),
            chunk_size,
        })
    }

    /// Verifies a whole file against a chunk map; the error's `chunks` lists what differs.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn verify_chunks(&self, map: &ChunkMap, path: String) -> AsyncTask<FileJob> {
        let kind = JobKind::Chunks(map.map.clone(), None);
        AsyncTask::new(FileJob {
            ring: self.snapshot(),
            path: path.into(),
            kind,
        })
    }

    /// Verifies bytes [start, end) of a file, reading only the chunks that hold them.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn verify_range(
        &self,
        map: &ChunkMap,
        path: String,
        start: i64,
        end: i64,
    ) -> Result<AsyncTask<FileJob>> {
        let (start, end) = (offset(start, "start")?, offset(end, "end")?);
        if start > end {
            return Err(invalid_arg("start must not exceed end"));
        }
        let kind = JobKind::Chunks(map.map.clone(), Some(start..end));
        Ok(AsyncTask::new(FileJob {
            ring: self.snapshot(),
            path: path.into(),
            kind,
        }))
    }

    /// Hashes every file under `root` (all cores) into a signed manifest.
    #[napi(ts_return_type = "Promise<Manifest>")]
    pub fn create_manifest(&self, root: String) -> AsyncTask<ManifestJob> {
        AsyncTask::new(ManifestJob {
            ring: self.snapshot(),
            root: root.into(),
            verify: None,
        })
    }

    /// Checks a manifest's signature, then reports what differs under `root`:
    /// `{ ok, added, removed, modified, unreadable, checked }`.
    #[napi(ts_return_type = "Promise<ManifestReport>")]
    pub fn verify_manifest(&self, manifest: &Manifest, root: String) -> AsyncTask<ManifestJob> {
        let verify = Some(manifest.manifest.clone());
        AsyncTask::new(ManifestJob {
            ring: self.snapshot(),
            root: root.into(),
            verify,
        })
    }
}

/// What a manifest check found.
#[napi(object)]
pub struct ManifestReport {
    /// True when the tree matches the manifest exactly.
    pub ok: bool,
    /// Paths in the tree the manifest does not list.
    pub added: Vec<String>,
    /// Paths the manifest lists that are gone.
    pub removed: Vec<String>,
    /// `{ path, change, expected?, actual? }` per modified path.
    pub modified: Vec<serde_json::Value>,
    /// `{ path, error }` per unreadable path.
    pub unreadable: Vec<serde_json::Value>,
    /// Number of manifest entries examined.
    pub checked: u32,
}

/// An incremental signer (see `KeyRing.signer()`).
#[napi]
pub struct Signer {
    inner: Option<core::Signer>,
}

#[napi]
impl Signer {
    /// Adds the next chunk.
    #[napi]
    pub fn update(&mut self, data: Buffer) -> Result<()> {
        self.inner
            .as_mut()
            .ok_or_else(|| invalid_arg("finish() was already called"))?
            .update(&data);
        Ok(())
    }

    /// The signature over every chunk given to `update`.
    #[napi]
    pub fn finish(&mut self) -> Result<String> {
        let signer = self
            .inner
            .take()
            .ok_or_else(|| invalid_arg("finish() was already called"))?;
        Ok(signer.finish().to_string())
    }
}

/// An incremental verifier (see `KeyRing.verifier()`).
#[napi]
pub struct Verifier {
    inner: Option<core::Verifier>,
}

#[napi]
impl Verifier {
    /// Adds the next chunk.
    #[napi]
    pub fn update(&mut self, data: Buffer) -> Result<()> {
        self.inner
            .as_mut()
            .ok_or_else(|| invalid_arg("finish() was already called"))?
            .update(&data);
        Ok(())
    }

    /// Throws ERR_STRONGROOM_MISMATCH unless the chunks match the signature.
    #[napi]
    pub fn finish(&mut self) -> Result<()> {
        let verifier = self
            .inner
            .take()
            .ok_or_else(|| invalid_arg("finish() was already called"))?;
        verifier.finish().map_err(verifier_error)
    }
}

/// Per-chunk MACs under one root MAC, for byte-range verification.
#[napi]
pub struct ChunkMap {
    map: core::ChunkMap,
}

#[napi]
impl ChunkMap {
    /// Parses the JSON form.
    #[napi(factory)]
    pub fn from_json(text: String) -> Result<Self> {
        Ok(ChunkMap {
            map: core::ChunkMap::from_json(&text).map_err(verifier_error)?,
        })
    }

    /// Parses the compact binary form.
    #[napi(factory)]
    pub fn from_bytes(data: Buffer) -> Result<Self> {
        Ok(ChunkMap {
            map: core::ChunkMap::from_bytes(&data).map_err(verifier_error)?,
        })
    }

    /// The JSON form.
    #[napi]
    pub fn to_json(&self) -> String {
        self.map.to_json()
    }

    /// The compact binary form.
    #[napi]
    pub fn to_bytes(&self) -> Buffer {
        self.map.to_bytes().into()
    }

    /// Bytes per chunk.
    #[napi(getter)]
    pub fn chunk_size(&self) -> u32 {
        self.map.chunk_size()
    }

    /// Length of the file the map describes.
    #[napi(getter)]
    pub fn file_len(&self) -> i64 {
        self.map.file_len() as i64
    }

    /// Number of chunks.
    #[napi(getter)]
    pub fn chunk_count(&self) -> i64 {
        self.map.chunk_count() as i64
    }

    /// The key id that made the map.
    #[napi(getter)]
    pub fn kid(&self) -> String {
        self.map.kid().to_string()
    }
}

/// A signed inventory of a directory tree.
#[napi]
pub struct Manifest {
    manifest: core::Manifest,
}

#[napi]
impl Manifest {
    /// Parses the JSON form, refusing unsafe paths.
    #[napi(factory)]
    pub fn from_json(text: String) -> Result<Self> {
        Ok(Manifest {
            manifest: core::Manifest::from_json(&text).map_err(verifier_error)?,
        })
    }

    /// The JSON form.
    #[napi]
    pub fn to_json(&self) -> String {
        self.manifest.to_json()
    }

    /// The entries: `{ path, type, size?, digest?, target? }`.
    #[napi(getter)]
    pub fn entries(&self) -> Vec<serde_json::Value> {
        self.manifest
            .entries()
            .iter()
            .map(|e| serde_json::to_value(e).expect("entries serialise"))
            .collect()
    }

    /// The signature string over the manifest.
    #[napi(getter)]
    pub fn signature(&self) -> String {
        self.manifest.signature().to_string()
    }
}

/// Generates a new random 32-byte key.
#[napi]
pub fn generate_key() -> Result<Buffer> {
    let key = core::SecretKey::generate().map_err(verifier_error)?;
    key_buffer(&key)
}

/// Reads a key file (hex, or "base64:..."; must not be readable by group or others).
#[napi]
pub fn load_key_file(path: String) -> Result<Buffer> {
    key_buffer(&core::SecretKey::from_file(&path).map_err(verifier_error)?)
}

fn key_buffer(key: &core::SecretKey) -> Result<Buffer> {
    let bytes = hex::decode(&*key.expose_hex()).map_err(|_| invalid_arg("key encoding"))?;
    Ok(bytes.into())
}

/// The parts of a signature string.
#[napi(object)]
pub struct SignatureParts {
    /// Format version ("sr1").
    pub version: String,
    /// "hmac-sha256" or "blake3-keyed".
    pub algorithm: String,
    /// Key id.
    pub kid: String,
    /// MAC in lowercase hex.
    pub mac: String,
}

/// Parses a signature string into its parts.
#[napi]
pub fn parse_signature_parts(signature: String) -> Result<SignatureParts> {
    let signature = parse_signature(&signature)?;
    Ok(SignatureParts {
        version: "sr1".into(),
        algorithm: signature.algorithm().to_string(),
        kid: signature.kid().to_string(),
        mac: signature.mac_hex(),
    })
}

pub enum JobKind {
    Sign,
    Verify(core::Signature),
    Chunks(core::ChunkMap, Option<std::ops::Range<u64>>),
}

/// Signing or verifying one file on the libuv pool.
pub struct FileJob {
    ring: Arc<core::KeyRing>,
    path: PathBuf,
    kind: JobKind,
}

impl Task for FileJob {
    type Output = Option<String>;
    type JsValue = Option<String>;

    fn compute(&mut self) -> Result<Self::Output> {
        let open = |path: &PathBuf| {
            std::fs::File::open(path).map_err(|source| core::Error::Io {
                path: Some(path.clone()),
                source,
            })
        };
        let result = match &self.kind {
            JobKind::Sign => self.ring.sign_path(&self.path).map(|s| Some(s.to_string())),
            JobKind::Verify(signature) => {
                self.ring.verify_path(&self.path, signature).map(|()| None)
            }
            JobKind::Chunks(map, None) => open(&self.path)
                .and_then(|f| self.ring.verify_chunks(map, std::io::BufReader::new(f)))
                .map(|()| None),
            JobKind::Chunks(map, Some(range)) => open(&self.path)
                .and_then(|f| self.ring.verify_range(map, f, range.clone()))
                .map(|()| None),
        };
        result.map_err(verifier_error)
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output)
    }
}

/// Building a chunk map on the libuv pool.
pub struct ChunkMapJob {
    ring: Arc<core::KeyRing>,
    path: PathBuf,
    chunk_size: u32,
}

impl Task for ChunkMapJob {
    type Output = core::ChunkMap;
    type JsValue = ChunkMap;

    fn compute(&mut self) -> Result<Self::Output> {
        self.ring
            .chunk_map_path(&self.path, self.chunk_size)
            .map_err(verifier_error)
    }

    fn resolve(&mut self, _env: Env, map: Self::Output) -> Result<Self::JsValue> {
        Ok(ChunkMap { map })
    }
}

pub enum ManifestOutcome {
    Created(core::Manifest),
    Verified(core::ManifestReport),
}

/// Creating or verifying a manifest on the libuv pool.
pub struct ManifestJob {
    ring: Arc<core::KeyRing>,
    root: PathBuf,
    verify: Option<core::Manifest>,
}

impl Task for ManifestJob {
    type Output = ManifestOutcome;
    type JsValue = Either<Manifest, ManifestReport>;

    fn compute(&mut self) -> Result<Self::Output> {
        match &self.verify {
            None => self
                .ring
                .create_manifest(&self.root)
                .map(ManifestOutcome::Created),
            Some(manifest) => self
                .ring
                .verify_manifest(manifest, &self.root)
                .map(ManifestOutcome::Verified),
        }
        .map_err(verifier_error)
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(match output {
            ManifestOutcome::Created(manifest) => Either::A(Manifest { manifest }),
            ManifestOutcome::Verified(report) => Either::B(ManifestReport {
                ok: report.is_clean(),
                checked: u32::try_from(report.checked).unwrap_or(u32::MAX),
                modified: report
                    .modified
                    .iter()
                    .map(|m| serde_json::to_value(m).expect("serialises"))
                    .collect(),
                unreadable: report
                    .unreadable
                    .iter()
                    .map(|u| serde_json::to_value(u).expect("serialises"))
                    .collect(),
                added: report.added,
                removed: report.removed,
            }),
        })
    }
}
