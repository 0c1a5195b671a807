//! One error type for the whole server, rendered as an RFC 9457 problem document.
//!
//! Client mistakes keep their status and a message that names what to fix. Internal failures
//! get a generic body; their detail is logged with the request id, never sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The problem document (`application/problem+json`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened this time.
    pub detail: String,
    /// For a denial shown to the resource owner or an admin: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<serde_json::Value>,
}

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Malformed input (400).
    #[error("{0}")]
    BadRequest(String),
    /// Missing or invalid credentials (401).
    #[error("{0}")]
    Unauthorized(String),
    /// The policy refused (403).
    #[error("{detail}")]
    Forbidden {
        /// What was refused.
        detail: String,
        /// The policy explanation, only when the caller may see it.
        explanation: Option<serde_json::Value>,
    },
    /// Nothing there, or nothing the caller may know of (404).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state (409).
    #[error("{0}")]
    Conflict(String),
    /// The link is used up, revoked or expired (410).
    #[error("{0}")]
    Gone(String),
    /// The body is too large (413).
    #[error("{0}")]
    TooLarge(String),
    /// Wrong content type (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The range cannot be served (416).
    #[error("{0}")]
    RangeNotSatisfiable(String, u64),
    /// Semantically invalid input (422).
    #[error("{0}")]
    Invalid(String),
    /// Slow down (429).
    #[error("{0}")]
    TooManyRequests(String, u64),
    /// A dependency is down (503).
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected failure (500); the text is logged, not sent.
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    /// The status this error is sent with.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::RangeNotSatisfiable(..) => StatusCode::RANGE_NOT_SATISFIABLE,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooManyRequests(..) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad-request",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden { .. } => "forbidden",
            AppError::NotFound(_) => "not-found",
            AppError::Conflict(_) => "conflict",
            AppError::Gone(_) => "gone",
            AppError::TooLarge(_) => "too-large",
            AppError::UnsupportedMediaType(_) => "unsupported-media-type",
            AppError::RangeNotSatisfiable(..) => "range-not-satisfiable",
            AppError::Invalid(_) => "invalid",
            AppError::TooManyRequests(..) => "rate-limited",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let detail = match self {
            AppError::Internal(_) => {
                "the server failed; the request id in the logs has details".into()
            }
            other => other.to_string(),
        };
        Problem {
            kind: format!("https://strongroom.dev/problems/{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            explanation: match self {
                AppError::Forbidden { explanation, .. } => explanation.clone(),
                _ => None,
            },
        }
    }
}

/// A response extension carrying an internal error's text to the logging middleware.
#[derive(Debug, Clone)]
pub struct InternalDetail(pub String);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let problem = self.problem();
        let mut res = (self.status(), Json(problem)).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match &self {
            AppError::TooManyRequests(_, secs) => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*secs));
            }
            AppError::RangeNotSatisfiable(_, size) => {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    res.headers_mut().insert(header::CONTENT_RANGE, v);
                }
            }
            AppError::Unauthorized(_) => {
                res.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            AppError::Internal(detail) => {
                res.extensions_mut().insert(InternalDetail(detail.clone()));
            }
            _ => {}
        }
        res
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => AppError::NotFound("not found".into()),
            sqlx::Error::Database(db) if db.is_unique_violation() => unique_conflict(db.as_ref()),
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => {
                AppError::Unavailable("the database is unavailable; retry later".into())
            }
            _ => AppError::Internal(format!("database: {e}")),
        }
    }
}

/// A conflict that names the uniqueness rule it broke, so no caller re-maps it. PostgreSQL names
/// the constraint (`users_email_key`, `files_unique_name` …); SQLite names the columns in its
/// message (`UNIQUE constraint failed: users.email`).
fn unique_conflict(db: &dyn sqlx::error::DatabaseError) -> AppError {
    let which = db.constraint().unwrap_or(db.message());
    AppError::Conflict(
        if which.contains("email") {
            "that email is already registered"
        } else if which.contains("files") || which.contains("folders") {
            "a file or folder with that name already exists here"
        } else {
            "that already exists"
        }
        .into(),
    )
}

impl From<strongroom_audit::Error> for AppError {
    fn from(e: strongroom_audit::Error) -> Self {
        match e {
            strongroom_audit::Error::Invalid { .. } => AppError::BadRequest(e.to_string()),
            other => AppError::Internal(format!("audit: {other}")),
        }
    }
}

impl From<object_store::Error> for AppError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => AppError::NotFound("no such file".into()),
            other => AppError::Internal(format!("object store: {other}")),
        }
    }
}

impl From<strongroom_session_store::Error> for AppError {
    fn from(e: strongroom_session_store::Error) -> Self {
        use strongroom_session_store::Error as E;
        match e {
            E::AccessTokenRejected(_) => {
                AppError::Unauthorized("invalid or expired access token".into())
            }
            E::InvalidRefreshToken
            | E::RefreshTokenReused
            | E::SessionExpired
            | E::SessionRevoked
            | E::DeviceMismatch => AppError::Unauthorized(e.to_string()),
            E::NotFound { .. } => AppError::NotFound("no such session".into()),
            E::InvalidInput { .. } => AppError::Invalid(e.to_string()),
            other => AppError::Internal(format!("sessions: {other}")),
        }
    }
}

impl From<strongroom_access_policy::Error> for AppError {
    fn from(e: strongroom_access_policy::Error) -> Self {
        AppError::Internal(format!("policy: {e}"))
    }
}

impl From<strongroom_file_verifier::Error> for AppError {
    fn from(e: strongroom_file_verifier::Error) -> Self {
        AppError::Internal(format!("verifier: {e}"))
    }
}

/// `Result` with [`AppError`].
pub type AppResult<T> = Result<T, AppError>;
