//! The crate's one error type.

use std::fmt;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A [`Config`](crate::Config) value is out of range; fix the named field.
    #[error("invalid config: {field}: {reason}")]
    InvalidConfig {
        /// The offending field, e.g. `thresholds.high`.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// An [`Event`](crate::Event) cannot be scored at all (for example it has no user).
    ///
    /// Merely odd input (a malformed IP, a NaN coordinate) is not an error: it is scored and
    /// reported as a reason.
    #[error("invalid event: {field}: {reason}")]
    InvalidEvent {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The snapshot was written by a format version this build cannot read.
    #[error(
        "snapshot format version {found} is not supported (this build reads version {supported})"
    )]
    UnsupportedSnapshotVersion {
        /// Version found in the snapshot.
        found: u32,
        /// Version this build reads and writes.
        supported: u32,
    },
    /// The snapshot is structurally invalid (truncated, tampered with, or not a snapshot).
    #[error("corrupt snapshot: {0}")]
    CorruptSnapshot(SnapshotFormatError),
    /// Reading evaluation data failed.
    #[error("reading evaluation data: {0}")]
    Io(#[from] std::io::Error),
    /// A line of an evaluation CSV file could not be understood.
    #[error("line {line}: {reason}")]
    Csv {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}

/// Why a snapshot could not be decoded; the details are for humans, not for matching.
#[derive(Debug)]
pub struct SnapshotFormatError(pub(crate) String);

impl fmt::Display for SnapshotFormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SnapshotFormatError {}

impl Error {
    pub(crate) fn config(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidConfig {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn event(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidEvent {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn corrupt(reason: impl Into<String>) -> Self {
        Error::CorruptSnapshot(SnapshotFormatError(reason.into()))
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
