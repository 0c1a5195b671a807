use std::path::PathBuf;

/// A specialized `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while signing or verifying.
///
/// Variants are grouped by what a caller does about them: [`Error::Mismatch`] and
/// [`Error::ChunksMismatch`] mean the data is not what was signed (exit code 1 in the CLI); the
/// key and parsing variants mean the input is unusable; [`Error::Io`] and
/// [`Error::ChangedWhileReading`] mean the data could not be read consistently and the operation
/// may be retried.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The data does not match the signature: it was modified, or signed with another key.
    #[error("signature mismatch: the data was not signed by key `{kid}` or has been modified")]
    Mismatch {
        /// The key id the signature names.
        kid: String,
    },

    /// Some chunks of a chunk-mapped file do not match their MACs.
    #[error("{} chunk(s) do not match, first at index {}", .chunks.len(), .chunks.first().copied().unwrap_or_default())]
    ChunksMismatch {
        /// Indices of the chunks that differ, ascending.
        chunks: Vec<u64>,
    },

    /// A key is shorter than the minimum of 32 bytes, longer than the maximum, or otherwise
    /// unusable for the requested algorithm.
    #[error("invalid key: {reason}")]
    InvalidKey {
        /// Why the key was refused.
        reason: String,
    },

    /// A key id is empty, too long, or contains characters outside `[A-Za-z0-9._-]`.
    #[error("invalid key id `{kid}`: use 1 to 64 characters from A-Z a-z 0-9 . _ -")]
    InvalidKeyId {
        /// The refused key id.
        kid: String,
    },

    /// The signature names a key id the key ring does not hold.
    #[error("unknown key id `{kid}`: the key ring has no key with this id")]
    UnknownKeyId {
        /// The key id the signature or manifest names.
        kid: String,
    },

    /// The key ring already holds a key under this id; ids are never reused for another key.
    #[error("duplicate key id `{kid}`: the key ring already holds a key with this id")]
    DuplicateKeyId {
        /// The key id already present.
        kid: String,
    },

    /// The key ring has no active signing key.
    #[error("the key ring has no active signing key")]
    NoSigningKey,

    /// A signature, chunk map or manifest names a format version this crate does not know.
    #[error("unknown format version `{version}`")]
    UnknownVersion {
        /// The version found.
        version: String,
    },

    /// A signature, chunk map or manifest names an algorithm this crate does not know.
    #[error("unknown algorithm `{algorithm}` (known: hmac-sha256, blake3-keyed)")]
    UnknownAlgorithm {
        /// The algorithm found.
        algorithm: String,
    },

    /// The MAC part of a signature is not valid base64url or has the wrong length.
    #[error("malformed MAC: {reason}")]
    MalformedMac {
        /// What is wrong with it.
        reason: String,
    },

    /// A signature string, chunk map or manifest cannot be parsed.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being parsed (`signature`, `chunk map`, `manifest`, `key`).
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// A path in a manifest is absolute, contains `..`, or is otherwise not a plain relative path
    /// inside the tree.
    #[error("unsafe path in manifest: `{path}`: {reason}")]
    UnsafePath {
        /// The refused path.
        path: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// A requested byte range lies outside the file described by a chunk map.
    #[error("byte range {start}..{end} is outside the file's {len} bytes")]
    RangeOutOfBounds {
        /// Range start (inclusive).
        start: u64,
        /// Range end (exclusive).
        end: u64,
        /// File length.
        len: u64,
    },

    /// The file changed (size or modification time) while it was being read, so no signature was
    /// produced. Retry once the writer is done.
    #[error("{} changed while it was being read", .path.display())]
    ChangedWhileReading {
        /// The file that changed.
        path: PathBuf,
    },

    /// A key file is readable by users other than its owner.
    #[error("key file {} is accessible by group or others (mode {mode:o}); run `chmod 600` on it", .path.display())]
    KeyFilePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },

    /// Reading a file or stream failed.
    #[error("I/O error{}: {source}", .path.as_ref().map(|p| format!(" on {}", p.display())).unwrap_or_default())]
    Io {
        /// The file involved, when there is one.
        path: Option<PathBuf>,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: Some(path.into()),
            source,
        }
    }

    pub(crate) fn malformed(what: &'static str, reason: impl Into<String>) -> Self {
        Error::Malformed {
            what,
            reason: reason.into(),
        }
    }

    /// True when the error means "the data does not match what was signed", as opposed to an
    /// unusable input or an I/O failure.
    pub fn is_mismatch(&self) -> bool {
        matches!(self, Error::Mismatch { .. } | Error::ChunksMismatch { .. })
    }
}

impl From<std::io::Error> for Error {
    fn from(source: std::io::Error) -> Self {
        Error::Io { path: None, source }
    }
}
