//! Errors as RFC 9457 problem documents: the status, the `type` URI and the headers each
//! [`Error`] variant is sent with.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::Error;

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

/// The status an error is sent with.
pub fn status(e: &Error) -> StatusCode {
    match e {
        Error::BadRequest(_) => StatusCode::BAD_REQUEST,
        Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        Error::Forbidden { .. } => StatusCode::FORBIDDEN,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
        Error::Gone(_) => StatusCode::GONE,
        Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Error::RangeNotSatisfiable(..) => StatusCode::RANGE_NOT_SATISFIABLE,
        Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Error::TooManyRequests(..) => StatusCode::TOO_MANY_REQUESTS,
        Error::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
        Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn slug(e: &Error) -> &'static str {
    match e {
        Error::BadRequest(_) => "bad-request",
        Error::Unauthorized(_) => "unauthorized",
        Error::Forbidden { .. } => "forbidden",
        Error::NotFound(_) => "not-found",
        Error::Conflict(_) => "conflict",
        Error::PreconditionFailed(_) => "precondition-failed",
        Error::Gone(_) => "gone",
        Error::TooLarge(_) => "too-large",
        Error::UnsupportedMediaType(_) => "unsupported-media-type",
        Error::RangeNotSatisfiable(..) => "range-not-satisfiable",
        Error::Invalid(_) => "invalid",
        Error::TooManyRequests(..) => "rate-limited",
        Error::InsufficientStorage(_) => "quota-exceeded",
        Error::Unavailable(_) => "unavailable",
        Error::Internal(_) => "internal",
    }
}

/// The problem document for an error.
pub fn problem(e: &Error) -> Problem {
    let status = status(e);
    let detail = match e {
        Error::Internal(_) => "the server failed; the request id in the logs has details".into(),
        other => other.to_string(),
    };
    Problem {
        kind: format!("https://strongroom.dev/problems/{}", slug(e)),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail,
        explanation: match e {
            Error::Forbidden { explanation, .. } => explanation.clone(),
            _ => None,
        },
    }
}

/// A response extension carrying an internal error's text to the logging middleware.
#[derive(Debug, Clone)]
pub struct InternalDetail(pub String);

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let mut res = (status(&self), Json(problem(&self))).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match &self {
            Error::TooManyRequests(_, secs) => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*secs));
            }
            Error::RangeNotSatisfiable(_, size) => {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    res.headers_mut().insert(header::CONTENT_RANGE, v);
                }
            }
            Error::Unauthorized(_) => {
                res.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Error::Internal(detail) => {
                res.extensions_mut().insert(InternalDetail(detail.clone()));
            }
            _ => {}
        }
        res
    }
}
