use crate::erasure::ErasureReport;
use jiff::Timestamp;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the ledger, named so a caller can act on it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A caller-supplied value is malformed (empty, too long, control characters, wrong shape).
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// Which argument was rejected.
        field: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// The purpose id is not registered with the ledger.
    #[error("unknown purpose `{purpose}`")]
    UnknownPurpose {
        /// The purpose id that was asked for.
        purpose: String,
    },
    /// The policy version is not one of the purpose's published versions.
    #[error("purpose `{purpose}` has no policy version `{version}`")]
    UnknownPolicyVersion {
        /// The purpose id.
        purpose: String,
        /// The version that was asked for.
        version: String,
    },
    /// Consent was asked for under a policy version that is not the one in force.
    #[error("purpose `{purpose}`: policy version `{given}` is not the one in force (`{current}`)")]
    StalePolicyVersion {
        /// The purpose id.
        purpose: String,
        /// The version the caller presented.
        given: String,
        /// The version in force now; present this one to the subject instead.
        current: String,
    },
    /// The purpose has no policy version in force yet (all published versions take effect later).
    #[error("purpose `{purpose}` has no policy version in force")]
    NoPolicyInForce {
        /// The purpose id.
        purpose: String,
    },
    /// The requested lifetime is zero or above the ledger's maximum.
    #[error("invalid ttl: {reason}")]
    InvalidTtl {
        /// Why the lifetime was rejected.
        reason: String,
    },
    /// Withdrawal of a consent that the subject never gave for this purpose.
    #[error("no consent was ever granted for purpose `{purpose}`")]
    NotGranted {
        /// The purpose id.
        purpose: String,
    },
    /// Withdrawal of a consent that is already withdrawn.
    #[error("consent for purpose `{purpose}` was already withdrawn at {at}")]
    AlreadyWithdrawn {
        /// The purpose id.
        purpose: String,
        /// When it was withdrawn.
        at: Timestamp,
    },
    /// The temporary access grant does not exist for this subject, or is already revoked.
    #[error("no active temporary access grant `{grant_id}`")]
    UnknownAccessGrant {
        /// The grant id that was asked for.
        grant_id: uuid::Uuid,
    },
    /// Something with this identity is already registered (a purpose id, a policy version).
    #[error("{what} already exists")]
    AlreadyExists {
        /// What collided.
        what: String,
    },
    /// An erasure of this subject has been requested and is not finished: no new consent can be
    /// recorded until it is. Call [`ConsentLedger::erase`](crate::ConsentLedger::erase) again.
    #[error("an erasure of this subject is pending (due by {due_by})")]
    ErasurePending {
        /// The deadline of the pending erasure.
        due_by: Timestamp,
    },
    /// At least one erasure handler failed. Nothing was reported as erased that did not finish;
    /// the ledger keeps the request open and the next `erase` call retries the failed handlers.
    #[error("erasure incomplete: {} handler(s) failed", .0.failed().count())]
    ErasureIncomplete(Box<ErasureReport>),
    /// A stored record does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// Another writer appended to the same chain first (the append was refused, nothing forked).
    /// The ledger retries these itself; it only surfaces when contention never let it through.
    #[error("concurrent append to chain {chain} at sequence {seq}")]
    Conflict {
        /// The chain (subject digest).
        chain: String,
        /// The sequence number that was taken.
        seq: u64,
    },
    /// A stored record could not be decoded (the storage was edited outside the ledger).
    #[error("corrupt record: {reason}")]
    Corrupt {
        /// What could not be decoded.
        reason: String,
    },
    /// An export contributor failed.
    #[error("export section `{section}` failed")]
    Contributor {
        /// The section the contributor writes.
        section: String,
        /// The contributor's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The storage backend failed (connection, I/O, migration).
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// An opaque storage backend failure (the database driver's error, kept as the source).
#[derive(Debug, thiserror::Error)]
#[error("storage failure: {0}")]
pub struct StorageError(pub(crate) Box<dyn std::error::Error + Send + Sync>);

impl StorageError {
    /// Wrap any backend error; for third-party [`ConsentStore`](crate::ConsentStore) implementations.
    pub fn new(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Box::new(source))
    }
}

pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidInput {
        field,
        reason: reason.into(),
    }
}
