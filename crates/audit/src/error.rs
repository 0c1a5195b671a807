use std::fmt;

use uuid::Uuid;

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in this crate.
///
/// Variants are grouped by what a caller does about them: fix the input (`Invalid*`, `EventTooLarge`,
/// `UnsafeUrl`), retry (`Conflict`, `Unavailable`, `Publish { retryable: true, .. }`), raise an alarm
/// (`Tampered`), or treat as already done (`DuplicateEvent`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field of an event (or of a query, key, endpoint ...) failed validation.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Which field or argument.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// An event's canonical encoding exceeds [`MAX_EVENT_BYTES`](crate::MAX_EVENT_BYTES).
    #[error("event is {size} bytes, more than the limit of {limit}")]
    EventTooLarge {
        /// Canonical size of the event.
        size: usize,
        /// The limit.
        limit: usize,
    },

    /// A JSON document (CloudEvent, stored event, webhook payload) could not be decoded.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },

    /// The thing asked for does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked up.
        what: String,
    },

    /// Another writer appended to the chain first; re-read the head and retry
    /// ([`AuditLog`](crate::AuditLog) does this for you).
    #[error("chain {chain:?} moved while appending (concurrent writer)")]
    Conflict {
        /// The chain.
        chain: String,
    },

    /// An event with this id is already stored in the chain.
    #[error("event {id} is already stored")]
    DuplicateEvent {
        /// The event id.
        id: Uuid,
    },

    /// Verification found a record, checkpoint or anchor that does not match: the log was altered.
    #[error("audit log tampered at sequence {seq}: {problem}")]
    Tampered {
        /// Sequence number of the first broken record (or of the checkpoint that failed).
        seq: u64,
        /// What did not match.
        problem: TamperKind,
    },

    /// A destination URL is not allowed: wrong scheme, or it resolves into a refused address range.
    #[error("refused URL {url}: {reason}")]
    UnsafeUrl {
        /// The URL (without credentials).
        url: String,
        /// Why it was refused.
        reason: String,
    },

    /// A webhook signature (or its id / timestamp headers) did not verify.
    #[error("webhook signature rejected: {reason}")]
    BadSignature {
        /// Why.
        reason: &'static str,
    },

    /// Publishing events failed.
    #[error("publish failed: {reason}")]
    Publish {
        /// Why.
        reason: String,
        /// Whether trying again later may succeed.
        retryable: bool,
    },

    /// An in-process bus subscriber fell behind and `missed` events were dropped for it.
    #[error("subscriber lagged behind and missed {missed} events")]
    Lagged {
        /// How many events this subscriber missed.
        missed: u64,
    },

    /// The bus, relay or consumer was closed.
    #[error("closed")]
    Closed,

    /// The database, broker or network is unavailable or failed; usually worth retrying.
    #[error("{context}: {source}")]
    Unavailable {
        /// What was being done.
        context: &'static str,
        /// The underlying failure.
        #[source]
        source: BackendError,
    },
}

impl Error {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn malformed(what: &'static str, reason: impl fmt::Display) -> Self {
        Error::Malformed {
            what,
            reason: reason.to_string(),
        }
    }

    /// An [`Error::Unavailable`]: for stores and publishers implemented outside this crate,
    /// whose failures the relay should retry.
    pub fn unavailable(
        context: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Unavailable {
            context,
            source: BackendError(Box::new(source)),
        }
    }

    /// Whether retrying the same operation later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Conflict { .. }
                | Error::Unavailable { .. }
                | Error::Publish {
                    retryable: true,
                    ..
                }
        )
    }
}

/// An error from a dependency (database driver, Kafka client, HTTP client), kept opaque so that
/// upgrading a dependency is not a breaking change. Its `Display` and `source()` carry the detail.
pub struct BackendError(pub(crate) Box<dyn std::error::Error + Send + Sync + 'static>);

impl fmt::Debug for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// What [`AuditLog::verify`](crate::AuditLog::verify) found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TamperKind {
    /// The stored hash is not the hash of the stored event and its predecessor.
    HashMismatch,
    /// The record does not point at its predecessor's hash.
    BrokenLink,
    /// A sequence number is missing (a record was deleted) or repeated.
    Gap {
        /// The sequence number that was expected here.
        expected: u64,
    },
    /// A signed checkpoint names a head hash the stored records do not reproduce.
    CheckpointMismatch,
    /// A checkpoint or retention anchor carries a signature that does not verify.
    BadSignature,
    /// A checkpoint (stored, or saved to the [`CheckpointAnchor`](crate::CheckpointAnchor) outside
    /// the database) vouches for more records than the store holds: the tail was cut off, or the
    /// chain was emptied.
    Truncated {
        /// How many records the checkpoint vouches for.
        checkpointed: u64,
        /// How many the store holds (the head's sequence number).
        stored: u64,
    },
    /// A stored column that queries filter on (`actor_id`, `action`, `time_us` ...) disagrees
    /// with the hashed event it was derived from: the column was edited.
    ColumnMismatch {
        /// The column.
        column: &'static str,
    },
    /// The chain's head (its newest `seq` and hash, kept in the database) carries no signature,
    /// or one that does not verify.
    BadHeadSignature,
    /// The signed chain head does not match the newest stored record (records were removed or
    /// added behind the log's back, or the head was rewritten).
    HeadMismatch {
        /// The head's sequence number.
        head: u64,
    },
    /// The checkpoint saved outside the database names a hash that the stored record at its
    /// sequence number does not have: the chain was rewritten.
    AnchorMismatch,
}

impl fmt::Display for TamperKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TamperKind::HashMismatch => f.write_str("stored hash does not match the event"),
            TamperKind::BrokenLink => f.write_str("previous-hash link is broken"),
            TamperKind::Gap { expected } => write!(f, "expected sequence {expected}"),
            TamperKind::CheckpointMismatch => {
                f.write_str("signed checkpoint does not match the records")
            }
            TamperKind::BadSignature => f.write_str("checkpoint signature does not verify"),
            TamperKind::Truncated {
                checkpointed,
                stored,
            } => {
                write!(
                    f,
                    "a checkpoint vouches for {checkpointed} records but only {stored} are stored"
                )
            }
            TamperKind::ColumnMismatch { column } => {
                write!(f, "stored column {column} does not match the hashed event")
            }
            TamperKind::BadHeadSignature => {
                f.write_str("the chain head is unsigned or its signature does not verify")
            }
            TamperKind::HeadMismatch { head } => write!(
                f,
                "the signed chain head (seq {head}) does not match the newest stored record"
            ),
            TamperKind::AnchorMismatch => f.write_str(
                "the checkpoint anchored outside the database does not match the record",
            ),
        }
    }
}
