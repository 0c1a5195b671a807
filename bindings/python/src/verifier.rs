//! `strongroom.verifier`: key rings, signatures, chunk maps and manifests.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyString};
use strongroom_file_verifier::{Algorithm, ChunkMap, KeyRing, Manifest, SecretKey, Signature};

use crate::errors::verifier_error;

/// Read size for file-like objects: large enough to amortise the call into Python.
const PY_READ_LEN: usize = 1024 * 1024;

fn parse_signature(py: Python<'_>, text: &str) -> PyResult<Signature> {
    text.parse().map_err(|e| verifier_error(py, e))
}

/// A file argument: a filesystem path, or a binary file-like object with `read(n)`.
enum Source<'py> {
    Path(PathBuf),
    Stream(Bound<'py, PyAny>),
}

impl<'py> Source<'py> {
    fn from_py(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        if obj.is_instance_of::<PyString>() || obj.hasattr("__fspath__")? {
            return Ok(Source::Path(obj.extract()?));
        }
        if obj.hasattr("read")? {
            return Ok(Source::Stream(obj.clone()));
        }
        Err(PyTypeError::new_err(
            "expected a path (str or os.PathLike) or a binary file object with read()",
        ))
    }

    /// Calls `f` with each block of a stream. Errors raised by `read()` propagate unchanged.
    fn for_each_block(stream: &Bound<'py, PyAny>, mut f: impl FnMut(&[u8])) -> PyResult<()> {
        loop {
            let block = stream.call_method1("read", (PY_READ_LEN,))?;
            let bytes = block.cast::<PyBytes>().map_err(|_| {
                PyTypeError::new_err("read() must return bytes (open the file in binary mode)")
            })?;
            let bytes = bytes.as_bytes();
            if bytes.is_empty() {
                return Ok(());
            }
            f(bytes);
        }
    }
}

/// Opens a file for chunk-map checks, naming it in the error as the crate's own readers do.
fn open_file(path: &std::path::Path) -> strongroom_file_verifier::Result<std::fs::File> {
    std::fs::File::open(path).map_err(|source| strongroom_file_verifier::Error::Io {
        path: Some(path.to_owned()),
        source,
    })
}

fn path_arg(obj: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    match Source::from_py(obj)? {
        Source::Path(path) => Ok(path),
        Source::Stream(_) => Err(PyTypeError::new_err("expected a path (str or os.PathLike)")),
    }
}

/// The keys used to sign and verify: one signing key, older keys verify only.
///
/// Thread-safe: operations work on a snapshot of the ring, and file work releases the GIL.
#[pyclass(name = "KeyRing", module = "strongroom.verifier", frozen)]
pub(crate) struct PyKeyRing {
    ring: RwLock<Arc<KeyRing>>,
}

impl PyKeyRing {
    fn snapshot(&self) -> Arc<KeyRing> {
        Arc::clone(&self.ring.read().expect("key ring lock poisoned"))
    }

    fn update<T>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut KeyRing) -> strongroom_file_verifier::Result<T>,
    ) -> PyResult<T> {
        let mut guard = self.ring.write().expect("key ring lock poisoned");
        f(Arc::make_mut(&mut guard)).map_err(|e| verifier_error(py, e))
    }
}

#[pymethods]
impl PyKeyRing {
    /// Creates an empty key ring; `algorithm` is "hmac-sha256" (default) or "blake3-keyed".
    #[new]
    #[pyo3(signature = (algorithm = "hmac-sha256"))]
    fn new(py: Python<'_>, algorithm: &str) -> PyResult<Self> {
        let algorithm: Algorithm = algorithm.parse().map_err(|e| verifier_error(py, e))?;
        Ok(PyKeyRing {
            ring: RwLock::new(Arc::new(KeyRing::with_algorithm(algorithm))),
        })
    }

    /// Adds a key (32 to 1024 bytes) and makes it the signing key.
    fn add_signing_key(&self, py: Python<'_>, kid: &str, key: PyBackedBytes) -> PyResult<()> {
        let key = SecretKey::from_bytes(&key).map_err(|e| verifier_error(py, e))?;
        self.update(py, |ring| ring.insert_signing_key(kid, key))
    }

    /// Adds a key that only verifies.
    fn add_verify_key(&self, py: Python<'_>, kid: &str, key: PyBackedBytes) -> PyResult<()> {
        let key = SecretKey::from_bytes(&key).map_err(|e| verifier_error(py, e))?;
        self.update(py, |ring| ring.insert_verify_key(kid, key))
    }

    /// Stops signing with `kid`; it still verifies.
    fn retire(&self, py: Python<'_>, kid: &str) -> PyResult<()> {
        self.update(py, |ring| ring.retire(kid))
    }

    /// Removes `kid`; what it signed no longer verifies. Returns whether it was present.
    fn remove(&self, py: Python<'_>, kid: &str) -> PyResult<bool> {
        self.update(py, |ring| Ok(ring.remove(kid)))
    }

    /// The id of the signing key, or None.
    #[getter]
    fn signing_kid(&self) -> Option<String> {
        self.snapshot().signing_kid().map(|k| k.to_string())
    }

    /// Every key id in the ring, sorted.
    #[getter]
    fn kids(&self) -> Vec<String> {
        self.snapshot().kids().map(|k| k.to_string()).collect()
    }

    /// The algorithm new signatures use.
    #[getter]
    fn algorithm(&self) -> String {
        self.snapshot().algorithm().to_string()
    }

    /// Signs bytes; returns the signature string `sr1:ALGORITHM:KID:MAC`.
    fn sign(&self, py: Python<'_>, data: PyBackedBytes) -> PyResult<String> {
        let ring = self.snapshot();
        py.detach(|| ring.sign(&data))
            .map(|s| s.to_string())
            .map_err(|e| verifier_error(py, e))
    }

    /// Verifies bytes against a signature string; raises MismatchError when they differ.
    fn verify(&self, py: Python<'_>, data: PyBackedBytes, signature: &str) -> PyResult<()> {
        let signature = parse_signature(py, signature)?;
        let ring = self.snapshot();
        py.detach(|| ring.verify(&data, &signature))
            .map_err(|e| verifier_error(py, e))
    }

    /// Signs a file given as a path (GIL released, constant memory) or a binary file object.
    fn sign_file(&self, py: Python<'_>, file: &Bound<'_, PyAny>) -> PyResult<String> {
        let ring = self.snapshot();
        let signature = match Source::from_py(file)? {
            Source::Path(path) => py
                .detach(|| ring.sign_path(&path))
                .map_err(|e| verifier_error(py, e))?,
            Source::Stream(stream) => {
                let mut signer = ring.signer().map_err(|e| verifier_error(py, e))?;
                Source::for_each_block(&stream, |block| signer.update(block))?;
                signer.finish()
            }
        };
        Ok(signature.to_string())
    }

    /// Verifies a file (path or binary file object) against a signature string.
    fn verify_file(
        &self,
        py: Python<'_>,
        file: &Bound<'_, PyAny>,
        signature: &str,
    ) -> PyResult<()> {
        let signature = parse_signature(py, signature)?;
        let ring = self.snapshot();
        match Source::from_py(file)? {
            Source::Path(path) => py
                .detach(|| ring.verify_path(&path, &signature))
                .map_err(|e| verifier_error(py, e)),
            Source::Stream(stream) => {
                let mut verifier = ring
                    .verifier(&signature)
                    .map_err(|e| verifier_error(py, e))?;
                Source::for_each_block(&stream, |block| verifier.update(block))?;
                verifier.finish().map_err(|e| verifier_error(py, e))
            }
        }
    }

    /// Builds a chunk map of a file, for verifying byte ranges later.
    #[pyo3(signature = (path, chunk_size = ChunkMap::DEFAULT_CHUNK_SIZE))]
    fn chunk_map(
        &self,
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        chunk_size: u32,
    ) -> PyResult<PyChunkMap> {
        let path = path_arg(path)?;
        let ring = self.snapshot();
        let map = py
            .detach(|| ring.chunk_map_path(&path, chunk_size))
            .map_err(|e| verifier_error(py, e))?;
        Ok(PyChunkMap { map })
    }

    /// Verifies a whole file against a chunk map; MismatchError.chunks lists the chunks that differ.
    fn verify_chunks(
        &self,
        py: Python<'_>,
        map: &PyChunkMap,
        path: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let path = path_arg(path)?;
        let ring = self.snapshot();
        py.detach(|| {
            let file = open_file(&path)?;
            ring.verify_chunks(&map.map, std::io::BufReader::new(file))
        })
        .map_err(|e| verifier_error(py, e))
    }

    /// Verifies bytes [start, end) of a file, reading only the chunks that hold them.
    fn verify_range(
        &self,
        py: Python<'_>,
        map: &PyChunkMap,
        path: &Bound<'_, PyAny>,
        start: u64,
        end: u64,
    ) -> PyResult<()> {
        let path = path_arg(path)?;
        if start > end {
            return Err(PyValueError::new_err("start must not exceed end"));
        }
        let ring = self.snapshot();
        py.detach(|| {
            let file = open_file(&path)?;
            ring.verify_range(&map.map, file, start..end)
        })
        .map_err(|e| verifier_error(py, e))
    }

    /// Hashes every file under `root` (all cores, GIL released) into a signed manifest.
    fn create_manifest(&self, py: Python<'_>, root: &Bound<'_, PyAny>) -> PyResult<PyManifest> {
        let root = path_arg(root)?;
        let ring = self.snapshot();
        let manifest = py
            .detach(|| ring.create_manifest(&root))
            .map_err(|e| verifier_error(py, e))?;
        Ok(PyManifest { manifest })
    }

    /// Checks a manifest's signature, then returns what differs under `root` as a dict with
    /// keys added, removed, modified, unreadable, checked and ok.
    fn verify_manifest<'py>(
        &self,
        py: Python<'py>,
        manifest: &PyManifest,
        root: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let root = path_arg(root)?;
        let ring = self.snapshot();
        let report = py
            .detach(|| ring.verify_manifest(&manifest.manifest, &root))
            .map_err(|e| verifier_error(py, e))?;
        let mut value = serde_json::to_value(&report).expect("reports serialise");
        value["ok"] = serde_json::Value::Bool(report.is_clean());
        json_to_py(py, &value)
    }

    fn __repr__(&self) -> String {
        let ring = self.snapshot();
        format!(
            "KeyRing(algorithm={:?}, signing_kid={:?}, kids={:?})",
            ring.algorithm().to_string(),
            ring.signing_kid().map(|k| k.to_string()),
            ring.kids().map(|k| k.to_string()).collect::<Vec<_>>()
        )
    }
}

/// Per-chunk MACs under one root MAC, for byte-range verification.
#[pyclass(name = "ChunkMap", module = "strongroom.verifier", frozen)]
pub(crate) struct PyChunkMap {
    map: ChunkMap,
}

#[pymethods]
impl PyChunkMap {
    /// Parses the JSON form.
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<Self> {
        Ok(PyChunkMap {
            map: ChunkMap::from_json(text).map_err(|e| verifier_error(py, e))?,
        })
    }

    /// Parses the compact binary form.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: PyBackedBytes) -> PyResult<Self> {
        Ok(PyChunkMap {
            map: ChunkMap::from_bytes(&data).map_err(|e| verifier_error(py, e))?,
        })
    }

    /// The JSON form.
    fn to_json(&self) -> String {
        self.map.to_json()
    }

    /// The compact binary form.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.map.to_bytes())
    }

    /// Bytes per chunk.
    #[getter]
    fn chunk_size(&self) -> u32 {
        self.map.chunk_size()
    }

    /// Length of the file the map describes.
    #[getter]
    fn file_len(&self) -> u64 {
        self.map.file_len()
    }

    /// Number of chunks.
    #[getter]
    fn chunk_count(&self) -> u64 {
        self.map.chunk_count()
    }

    /// The key id that made the map.
    #[getter]
    fn kid(&self) -> String {
        self.map.kid().to_string()
    }

    fn __repr__(&self) -> String {
        format!(
            "ChunkMap(kid={:?}, chunk_size={}, file_len={}, chunks={})",
            self.map.kid().as_str(),
            self.map.chunk_size(),
            self.map.file_len(),
            self.map.chunk_count()
        )
    }
}

/// A signed inventory of a directory tree.
#[pyclass(name = "Manifest", module = "strongroom.verifier", frozen)]
pub(crate) struct PyManifest {
    manifest: Manifest,
}

#[pymethods]
impl PyManifest {
    /// Parses the JSON form, refusing unsafe paths.
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<Self> {
        Ok(PyManifest {
            manifest: Manifest::from_json(text).map_err(|e| verifier_error(py, e))?,
        })
    }

    /// The JSON form.
    fn to_json(&self) -> String {
        self.manifest.to_json()
    }

    /// The entries as dicts: path, type, and size/digest or target.
    #[getter]
    fn entries<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(
            py,
            &serde_json::to_value(self.manifest.entries()).expect("entries serialise"),
        )
    }

    /// The signature string over the manifest.
    #[getter]
    fn signature(&self) -> String {
        self.manifest.signature().to_string()
    }

    fn __len__(&self) -> usize {
        self.manifest.entries().len()
    }
}

/// Generates a new random 32-byte key.
#[pyfunction]
fn generate_key<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
    let key = SecretKey::generate().map_err(|e| verifier_error(py, e))?;
    Ok(key_bytes(py, &key))
}

/// Reads a key file (hex, or "base64:..."; must not be readable by group or others).
#[pyfunction]
fn load_key_file<'py>(py: Python<'py>, path: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let path = path_arg(path)?;
    let key = SecretKey::from_file(&path).map_err(|e| verifier_error(py, e))?;
    Ok(key_bytes(py, &key))
}

fn key_bytes<'py>(py: Python<'py>, key: &SecretKey) -> Bound<'py, PyBytes> {
    let bytes =
        zeroize::Zeroizing::new(hex::decode(&*key.expose_hex()).expect("expose_hex is valid hex"));
    PyBytes::new(py, &bytes)
}

/// Parses a signature string into its parts: version, algorithm, kid and mac (hex).
#[pyfunction]
fn parse_signature_parts<'py>(py: Python<'py>, signature: &str) -> PyResult<Bound<'py, PyAny>> {
    let signature = parse_signature(py, signature)?;
    json_to_py(
        py,
        &serde_json::json!({
            "version": "sr1",
            "algorithm": signature.algorithm().to_string(),
            "kid": signature.kid().to_string(),
            "mac": signature.mac_hex(),
        }),
    )
}

fn json_to_py<'py>(py: Python<'py>, value: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?
        .call_method1("loads", (value.to_string(),))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyKeyRing>()?;
    m.add_class::<PyChunkMap>()?;
    m.add_class::<PyManifest>()?;
    m.add_function(wrap_pyfunction!(generate_key, m)?)?;
    m.add_function(wrap_pyfunction!(load_key_file, m)?)?;
    m.add_function(wrap_pyfunction!(parse_signature_parts, m)?)?;
    Ok(())
}
