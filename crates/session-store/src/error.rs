use std::fmt;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in this crate.
///
/// The `Display` text of every variant is safe to log but deliberately says little: token
/// rejections never tell a client *why* a signature failed or which keys exist. Match on the
/// variant (and on [`TokenRejection`]) to decide what to do; map all token errors to a generic
/// `401 invalid_token` / `400 invalid_grant` at the HTTP edge.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An access token failed verification; the reason is for server-side logs and metrics.
    #[error("{0}")]
    AccessTokenRejected(TokenRejection),

    /// A refresh token is malformed or unknown. The client must log in again.
    #[error("invalid refresh token")]
    InvalidRefreshToken,

    /// An already-rotated refresh token was presented again (RFC 9700 §4.14.2). The whole
    /// session (token family) has been revoked and a [`SessionEvent::ReuseDetected`] emitted.
    ///
    /// [`SessionEvent::ReuseDetected`]: crate::SessionEvent::ReuseDetected
    #[error("refresh token reuse detected; session revoked")]
    RefreshTokenReused,

    /// The session passed its idle timeout or absolute lifetime.
    #[error("session expired")]
    SessionExpired,

    /// The session was revoked (logout, sign-out-everywhere, or reuse detection).
    #[error("session revoked")]
    SessionRevoked,

    /// Device binding is on and the refresh token was presented by a different device.
    #[error("refresh token presented by a different device")]
    DeviceMismatch,

    /// The requested record does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked up (`"session"`, `"device"`, `"refresh token"`).
        what: &'static str,
    },

    /// A record with the same identity already exists.
    #[error("{what} already exists")]
    AlreadyExists {
        /// What was being created.
        what: &'static str,
    },

    /// A conditional update lost a race: the refresh token was no longer active when the store
    /// tried to rotate it. [`SessionManager`](crate::SessionManager) handles this internally;
    /// store implementors return it from [`SessionStore::rotate`](crate::SessionStore::rotate).
    #[error("refresh token was rotated concurrently")]
    Conflict,

    /// A caller-supplied value was rejected before any work was done.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The offending argument or field.
        field: &'static str,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// A key could not be loaded, found, rotated or retired.
    #[error(transparent)]
    Key(#[from] KeyError),

    /// The storage backend failed (I/O, connection, corrupt row).
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why an access token was rejected. Log it; do not send it to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenRejection {
    /// Not three base64url segments of well-formed JSON with the expected claims.
    Malformed,
    /// Longer than the configured maximum; rejected before any parsing.
    Oversized,
    /// `alg` is not the algorithm pinned to the key named by `kid` (this includes `none`).
    AlgorithmMismatch,
    /// `kid` is missing or names no key in the ring (never issued, or retired).
    UnknownKey,
    /// The signature does not verify (tampered token or wrong key).
    BadSignature,
    /// `typ` is not `at+jwt` or the header carries `crit` extensions.
    UnsupportedHeader,
    /// `exp` is in the past (beyond the leeway).
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    NotYetValid,
    /// `iss` is not the configured issuer.
    WrongIssuer,
    /// `aud` is not the configured audience.
    WrongAudience,
    /// The token is valid but its session was revoked (`check_revoked`).
    SessionRevoked,
    /// The token is valid but its session expired or no longer exists (`check_revoked`).
    SessionInactive,
}

impl fmt::Display for TokenRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the time-based reasons are worth telling a legitimate client (it should refresh);
        // everything else collapses into one message so it cannot be used as an oracle.
        f.write_str(match self {
            Self::Expired => "access token expired",
            Self::NotYetValid => "access token not yet valid",
            Self::SessionRevoked | Self::SessionInactive => "session no longer active",
            _ => "invalid access token",
        })
    }
}

/// Problems with signing keys and key rings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Key material could not be parsed or does not match the algorithm.
    #[error("invalid key material for {algorithm}")]
    InvalidKey {
        /// The algorithm the key was loaded for.
        algorithm: &'static str,
    },
    /// An HMAC secret shorter than 32 bytes.
    #[error("HS256 secrets must be at least 32 bytes")]
    WeakSecret,
    /// A `kid` that is empty, too long, or uses characters outside `[A-Za-z0-9._-]`.
    #[error("invalid key id")]
    InvalidKid,
    /// The ring already holds a key with this `kid`.
    #[error("duplicate key id")]
    DuplicateKid,
    /// No key with this `kid` is in the ring.
    #[error("unknown key id")]
    UnknownKid,
    /// The active signing key cannot be retired; rotate to a new key first.
    #[error("the active signing key cannot be retired")]
    RetireActive,
    /// The ring can only verify (it was built from a JWKS).
    #[error("key ring has no signing key")]
    NoSigningKey,
    /// Symmetric (HS256) secrets are never exported.
    #[error("symmetric keys cannot be exported")]
    NotExportable,
    /// The JWKS document is not valid JSON or holds no usable key.
    #[error("invalid JWKS document")]
    InvalidJwks,
    /// The crypto backend failed to sign.
    #[error("signing failed")]
    Signing,
}

/// An error from a storage backend, wrapped so that dependency types are not part of the API.
#[derive(Debug)]
pub struct StorageError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StorageError {
    /// Wraps a backend error.
    pub fn new(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self {
            message: source.to_string(),
            source: Some(Box::new(source)),
        }
    }

    /// A storage error with a message only (for example a row that fails to decode).
    pub fn msg(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "storage error: {}", self.message)
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl Error {
    pub(crate) fn rejected(reason: TokenRejection) -> Self {
        Self::AccessTokenRejected(reason)
    }

    pub(crate) fn input(field: &'static str, reason: &'static str) -> Self {
        Self::InvalidInput { field, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_messages_do_not_say_what_failed() {
        let opaque = [
            TokenRejection::Malformed,
            TokenRejection::Oversized,
            TokenRejection::AlgorithmMismatch,
            TokenRejection::UnknownKey,
            TokenRejection::BadSignature,
            TokenRejection::UnsupportedHeader,
            TokenRejection::WrongIssuer,
            TokenRejection::WrongAudience,
        ];
        for reason in opaque {
            assert_eq!(
                Error::rejected(reason).to_string(),
                "invalid access token",
                "{reason:?}"
            );
        }
        assert_eq!(
            Error::rejected(TokenRejection::Expired).to_string(),
            "access token expired"
        );
        assert_eq!(
            Error::InvalidRefreshToken.to_string(),
            "invalid refresh token"
        );
    }
}
