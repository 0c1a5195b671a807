//! Versions of a file: `PUT /files/{id}/content` (with `If-Match`), `GET /files/{id}/versions`,
//! `GET|HEAD /files/{id}/versions/{version}/content`, `POST …/restore`, `DELETE …`.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode, header};

use super::Caller;
use super::files::{deliver, want};
use super::problem::Problem;
use crate::app::AppState;
use crate::conn::MinRate;
use crate::domain::diff::{Diff, DiffFormat};
use crate::domain::files::FileMeta;
use crate::domain::versions::{IfMatch, Version};
use crate::error::{Error, Result};

/// Parses `If-Match` (RFC 9110 §13.1.1): `*`, or strong entity tags; a weak tag can never
/// match.
fn if_match(headers: &HeaderMap) -> Result<Option<IfMatch>> {
    let values: Vec<&str> = headers
        .get_all(header::IF_MATCH)
        .iter()
        .map(|v| {
            v.to_str()
                .map_err(|_| Error::BadRequest("If-Match must be ASCII".into()))
        })
        .collect::<Result<_>>()?;
    if values.is_empty() {
        return Ok(None);
    }
    let mut digests = Vec::new();
    for part in values.iter().flat_map(|v| v.split(',')) {
        let tag = part.trim();
        if tag == "*" {
            return Ok(Some(IfMatch::Any));
        }
        if tag.starts_with("W/") {
            continue;
        }
        match tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            Some(inner) if !inner.contains('"') => digests.push(inner.to_owned()),
            _ => {
                return Err(Error::BadRequest(format!(
                    "If-Match: {tag:?} is not a quoted entity tag"
                )));
            }
        }
    }
    Ok(Some(IfMatch::Digests(digests)))
}

/// Replaces a file's content: a new version; the old one stays listed and downloadable.
/// `If-Match` with the ETag you read makes it fail with 412 when someone wrote in between.
#[utoipa::path(put, path = "/files/{id}/content", tag = "versions", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id"),
        ("If-Match" = Option<String>, Header, description = "The ETag the new content replaces, or *")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The new content"),
    responses((status = 200, body = FileMeta), (status = 404, body = Problem), (status = 412, body = Problem),
        (status = 413, body = Problem)))]
pub async fn put_content(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<FileMeta>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let condition = if_match(&headers)?;
    let body = MinRate::new(
        body.into_data_stream(),
        &app.config.http,
        app.metrics.clone(),
    );
    Ok(Json(
        app.files
            .put_content(&caller.0, &id, &content_type, condition, body)
            .await?,
    ))
}

/// A file's versions, newest first.
#[utoipa::path(get, path = "/files/{id}/versions", tag = "versions", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")),
    responses((status = 200, body = Vec<Version>), (status = 404, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Version>>> {
    Ok(Json(app.files.list_versions(&caller.0, &id).await?))
}

/// Downloads one version (Range, If-None-Match and HEAD as for the current content).
#[utoipa::path(get, path = "/files/{id}/versions/{version}/content", tag = "versions", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id"), ("version" = i64, Path, description = "Version number")),
    responses((status = 200, description = "The content"), (status = 206, description = "A range"), (status = 304),
        (status = 404, body = Problem), (status = 416, body = Problem)))]
pub async fn download(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(String, i64)>,
    method: http::Method,
    headers: HeaderMap,
) -> Result<Response> {
    let delivery = app
        .files
        .download_version(&caller.0, &id, version, &want(&method, &headers)?)
        .await?;
    Ok(deliver(&app, delivery))
}

/// Makes an old version's content current again (as a new version).
#[utoipa::path(post, path = "/files/{id}/versions/{version}/restore", tag = "versions", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id"), ("version" = i64, Path, description = "Version number")),
    responses((status = 200, body = FileMeta), (status = 404, body = Problem)))]
pub async fn restore(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(String, i64)>,
) -> Result<Json<FileMeta>> {
    Ok(Json(
        app.files.restore_version(&caller.0, &id, version).await?,
    ))
}

/// Deletes one version (not the current one).
#[utoipa::path(delete, path = "/files/{id}/versions/{version}", tag = "versions", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id"), ("version" = i64, Path, description = "Version number")),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(String, i64)>,
) -> Result<StatusCode> {
    app.files.delete_version(&caller.0, &id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What to compare.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DiffParams {
    /// The older version.
    pub from: i64,
    /// The newer version.
    pub to: i64,
    /// `auto` (default: text when both sides are UTF-8 text within `files.diff_max_bytes`,
    /// else a summary), `text` (or 422) or `summary`.
    pub format: Option<String>,
    /// Lines of context around each change (default 3, at most 1000).
    pub context: Option<usize>,
}

/// The difference between two versions of a file: a unified diff with its hunks for text, a
/// summary by 1 MiB block for anything else.
#[utoipa::path(get, path = "/files/{id}/diff", tag = "versions", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id"), DiffParams),
    responses((status = 200, body = Diff), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn diff(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<DiffParams>,
) -> Result<Json<Diff>> {
    let format = match q.format.as_deref().unwrap_or("auto") {
        "auto" => DiffFormat::Auto,
        "text" => DiffFormat::Text,
        "summary" => DiffFormat::Summary,
        other => {
            return Err(Error::BadRequest(format!(
                "format is auto, text or summary, not {other:?}"
            )));
        }
    };
    Ok(Json(
        app.files
            .diff(&caller.0, &id, q.from, q.to, format, q.context.unwrap_or(3))
            .await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(v: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for x in v {
            h.append(header::IF_MATCH, x.parse().unwrap());
        }
        h
    }

    #[test]
    fn if_match_is_parsed_strictly() {
        assert_eq!(if_match(&headers(&[])).unwrap(), None);
        assert_eq!(if_match(&headers(&["*"])).unwrap(), Some(IfMatch::Any));
        assert_eq!(
            if_match(&headers(&["\"ab\", W/\"cd\"", "\"ef\""])).unwrap(),
            Some(IfMatch::Digests(vec!["ab".into(), "ef".into()]))
        );
        assert!(if_match(&headers(&["ab"])).is_err(), "unquoted");
    }
}
