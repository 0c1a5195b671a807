//! What a service call can fail with, in terms a caller can act on and without any HTTP:
//! `http/problem.rs` maps each variant to a status and an RFC 9457 problem document.
//!
//! Client mistakes carry a message that names what to fix. Internal failures carry their detail
//! for the log, never for the client.

/// Everything a service call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Malformed input.
    #[error("{0}")]
    BadRequest(String),
    /// Missing or invalid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// The policy refused.
    #[error("{detail}")]
    Forbidden {
        /// What was refused.
        detail: String,
        /// The policy explanation, only when the caller may see it.
        explanation: Option<serde_json::Value>,
    },
    /// Nothing there, or nothing the caller may know of.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// A condition the caller set (`If-Match`) does not hold any more.
    #[error("{0}")]
    PreconditionFailed(String),
    /// The link is used up, revoked or expired.
    #[error("{0}")]
    Gone(String),
    /// The content is larger than allowed.
    #[error("{0}")]
    TooLarge(String),
    /// A kind of content the call does not take.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The range cannot be served (the second field is the content's size).
    #[error("{0}")]
    RangeNotSatisfiable(String, u64),
    /// Well-formed input that breaks a rule.
    #[error("{0}")]
    Invalid(String),
    /// Slow down (the second field is the seconds to wait).
    #[error("{0}")]
    TooManyRequests(String, u64),
    /// A quota would be exceeded (507 Insufficient Storage).
    #[error("{0}")]
    InsufficientStorage(String),
    /// A dependency is down.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; the text is for the log.
    #[error("{0}")]
    Internal(String),
}

impl From<strongroom_audit::Error> for Error {
    fn from(e: strongroom_audit::Error) -> Self {
        match e {
            strongroom_audit::Error::Invalid { .. } => Error::BadRequest(e.to_string()),
            other => Error::Internal(format!("audit: {other}")),
        }
    }
}

impl From<object_store::Error> for Error {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => Error::NotFound("no such file".into()),
            other => Error::Internal(format!("object store: {other}")),
        }
    }
}

impl From<strongroom_session_store::Error> for Error {
    fn from(e: strongroom_session_store::Error) -> Self {
        use strongroom_session_store::Error as E;
        match e {
            E::AccessTokenRejected(_) => {
                Error::Unauthorized("invalid or expired access token".into())
            }
            E::InvalidRefreshToken
            | E::RefreshTokenReused
            | E::SessionExpired
            | E::SessionRevoked
            | E::DeviceMismatch => Error::Unauthorized(e.to_string()),
            E::NotFound { .. } => Error::NotFound("no such session".into()),
            E::InvalidInput { .. } => Error::Invalid(e.to_string()),
            other => Error::Internal(format!("sessions: {other}")),
        }
    }
}

impl From<strongroom_access_policy::Error> for Error {
    fn from(e: strongroom_access_policy::Error) -> Self {
        Error::Internal(format!("policy: {e}"))
    }
}

impl From<strongroom_file_verifier::Error> for Error {
    fn from(e: strongroom_file_verifier::Error) -> Self {
        Error::Internal(format!("verifier: {e}"))
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<crate::store::Error> for Error {
    fn from(e: crate::store::Error) -> Self {
        use crate::store::Error as Store;
        match e {
            Store::NotFound => Error::NotFound("not found".into()),
            Store::ParentGone => Error::NotFound("the folder no longer exists".into()),
            Store::Conflict(m) => Error::Conflict(m),
            stale @ Store::Stale { .. } => Error::PreconditionFailed(stale.to_string()),
            Store::Invalid(m) => Error::Invalid(m),
            Store::QuotaExceeded(m) => Error::InsufficientStorage(m),
            Store::Unavailable(m) => Error::Unavailable(m),
            Store::Corrupt(m) | Store::Backend(m) => Error::Internal(m),
        }
    }
}
