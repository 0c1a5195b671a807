//! `/files`: upload, list, metadata, rename/move/publish, delete, download, verify.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::Caller;
use crate::app::AppState;
use crate::conn::MinRate;
use crate::domain::files::{
    ByteRange, Delivery, FileMeta, FileUpdate, IfNoneMatch, Listing, NewFile, Page, Verification,
    Want,
};
use crate::error::{Error, Result};
use crate::http::problem::Problem;

/// Where and under which name to store an upload.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadParams {
    /// File name: 1 to 255 bytes, no `/`, `\\` or control characters.
    #[param(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^/\\\x00-\x1f\x7f]+$",
        example = "report.pdf"
    )]
    pub name: String,
    /// Folder id (default: your root).
    pub folder_id: Option<String>,
}

/// Uploads a file: the request body is the content, streamed (never buffered whole). To a name
/// already taken in the folder, the upload becomes that file's next version (200 instead of 201).
#[utoipa::path(post, path = "/files", tag = "files", security(("bearer" = [])), params(UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes; Content-Type is stored as the file's media type"),
    responses((status = 201, body = FileMeta, description = "A new file"), (status = 200, body = FileMeta, description = "A new version of the file that had this name"),
        (status = 409, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn upload(
    State(app): State<AppState>,
    caller: Caller,
    Query(p): Query<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<FileMeta>)> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let new = NewFile {
        name: p.name,
        folder_id: p.folder_id,
        content_type,
    };
    let body = MinRate::new(
        body.into_data_stream(),
        &app.config.http,
        app.metrics.clone(),
    );
    let up = app.files.upload(&caller.0, new, body).await?;
    let status = if up.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(up.file)))
}

/// Listing options.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Folder id (default: your root).
    pub folder_id: Option<String>,
    /// `name` (default), `created`, `updated` or `size`.
    pub sort: Option<String>,
    /// `asc` (default) or `desc`.
    pub order: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Offset from the previous page's `next_offset`.
    pub offset: Option<u64>,
}

/// Lists a folder.
#[utoipa::path(get, path = "/files", tag = "files", security(("bearer" = [])), params(ListParams),
    responses((status = 200, body = Page), (status = 400, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> Result<Json<Page>> {
    let desc = match p.order.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(o) => {
            return Err(Error::BadRequest(format!(
                "order is asc or desc, not {o:?}"
            )));
        }
    };
    let q = Listing {
        folder_id: p.folder_id,
        sort: p.sort,
        desc,
        limit: p.limit,
        offset: p.offset,
    };
    Ok(Json(app.files.list(&caller.0, &q).await?))
}

/// A file's metadata.
#[utoipa::path(get, path = "/files/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")),
    responses((status = 200, body = FileMeta), (status = 404, body = Problem)))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<FileMeta>> {
    Ok(Json(app.files.get(&caller.0, &id).await?))
}

/// A change to a file.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FilePatch {
    /// New name.
    pub name: Option<String>,
    /// New folder id (`""` for your root).
    pub folder_id: Option<String>,
    /// Public (readable by anyone) or private.
    pub public: Option<bool>,
}

/// Renames, moves or publishes a file.
#[utoipa::path(patch, path = "/files/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")), request_body = FilePatch,
    responses((status = 200, body = FileMeta), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(p): Json<FilePatch>,
) -> Result<Json<FileMeta>> {
    let change = FileUpdate {
        name: p.name,
        folder_id: p.folder_id,
        public: p.public,
    };
    Ok(Json(app.files.update(&caller.0, &id, &change).await?))
}

/// Moves a file to the trash (`GET /trash`; purged after `files.trash_keep_days`).
#[utoipa::path(delete, path = "/files/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    app.files.delete(&caller.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Downloads a file (Range, If-None-Match supported).
#[utoipa::path(get, path = "/files/{id}/content", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")),
    responses((status = 200, description = "The content"), (status = 206, description = "A range"), (status = 304),
        (status = 404, body = Problem), (status = 416, body = Problem)))]
pub async fn download(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    method: http::Method,
    headers: HeaderMap,
) -> Result<Response> {
    let delivery = app
        .files
        .download(&caller.0, &id, &want(&method, &headers)?)
        .await?;
    Ok(deliver(&app, delivery))
}

/// Re-checks a file's integrity: SHA-256 and signature over the stored bytes.
#[utoipa::path(get, path = "/files/{id}/verify", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")),
    responses((status = 200, body = Verification), (status = 404, body = Problem)))]
pub async fn verify(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Verification>> {
    Ok(Json(app.files.verify(&caller.0, &id).await?))
}

/// The conditional and range headers of a download request.
pub fn want(method: &http::Method, headers: &HeaderMap) -> Result<Want> {
    let get = |h| headers.get(h).and_then(|v: &HeaderValue| v.to_str().ok());
    Ok(Want {
        range: get(header::RANGE).map(parse_range).transpose()?,
        if_none_match: get(header::IF_NONE_MATCH).map(parse_if_none_match),
        head: method == http::Method::HEAD,
    })
}

/// Parses a `Range` header (RFC 9110 §14.2): one `bytes=` range. Another unit is a 400; several
/// ranges or nonsense numbers parse to a range that answers 416.
pub fn parse_range(header: &str) -> Result<ByteRange> {
    let spec = header
        .trim()
        .strip_prefix("bytes=")
        .ok_or_else(|| Error::BadRequest("only byte ranges are supported".into()))?;
    if spec.contains(',') {
        return Ok(ByteRange::Unsatisfiable(
            "multiple ranges are not supported".into(),
        ));
    }
    let bad = || ByteRange::Unsatisfiable(format!("cannot parse the range {header:?}"));
    let Some((a, b)) = spec.split_once('-') else {
        return Ok(bad());
    };
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| s.parse::<u64>().ok();
    Ok(match (a.is_empty(), b.is_empty()) {
        (true, _) => num(b).map_or_else(bad, ByteRange::Last),
        (false, true) => num(a).map_or_else(bad, ByteRange::From),
        (false, false) => match (num(a), num(b)) {
            (Some(a), Some(b)) => ByteRange::Span(a, b),
            _ => bad(),
        },
    })
}

/// Parses `If-None-Match` (RFC 9110 §13.1.2): `*`, or entity tags compared weakly. A value that
/// is not a quoted tag matches nothing.
pub fn parse_if_none_match(header: &str) -> IfNoneMatch {
    if header.trim() == "*" {
        return IfNoneMatch::Any;
    }
    IfNoneMatch::Tags(
        header
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/").to_owned())
            .filter(|t| t.len() >= 2 && t.starts_with('"') && t.ends_with('"'))
            .collect(),
    )
}

/// `attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266 / 8187). No
/// character from the name can end the header or start another.
pub fn content_disposition(name: &str) -> HeaderValue {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or(HeaderValue::from_static("attachment"))
}

/// Turns a delivery into a response; the body is held to the minimum transfer rate.
pub fn deliver(app: &AppState, d: Delivery) -> Response {
    match d {
        Delivery::NotModified(file) => {
            let mut r = StatusCode::NOT_MODIFIED.into_response();
            if let Ok(v) = HeaderValue::from_str(&file.etag()) {
                r.headers_mut().insert(header::ETAG, v);
            }
            r
        }
        Delivery::Content { file, range, body } => {
            let body = MinRate::new(body, &app.config.http, app.metrics.clone());
            let mut r = Response::new(Body::from_stream(body));
            let h = r.headers_mut();
            let ct = HeaderValue::from_str(&file.content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
            h.insert(header::CONTENT_TYPE, ct);
            h.insert(header::CONTENT_DISPOSITION, content_disposition(&file.name));
            h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-cache"),
            );
            if let Ok(v) = HeaderValue::from_str(&file.etag()) {
                h.insert(header::ETAG, v);
            }
            match range {
                Some(rg) => {
                    *r.status_mut() = StatusCode::PARTIAL_CONTENT;
                    let h = r.headers_mut();
                    h.insert(header::CONTENT_LENGTH, HeaderValue::from(rg.end - rg.start));
                    if let Ok(v) = HeaderValue::from_str(&format!(
                        "bytes {}-{}/{}",
                        rg.start,
                        rg.end - 1,
                        file.size
                    )) {
                        h.insert(header::CONTENT_RANGE, v);
                    }
                }
                None => {
                    r.headers_mut()
                        .insert(header::CONTENT_LENGTH, HeaderValue::from(file.size));
                }
            }
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_and_if_none_match_headers() {
        assert_eq!(parse_range("bytes=0-9").unwrap(), ByteRange::Span(0, 9));
        assert_eq!(parse_range(" bytes=90-").unwrap(), ByteRange::From(90));
        assert_eq!(parse_range("bytes=-5").unwrap(), ByteRange::Last(5));
        for bad in ["bytes=a-b", "bytes=0-1,3-4", "bytes=5", "bytes=-x"] {
            assert!(
                matches!(parse_range(bad).unwrap(), ByteRange::Unsatisfiable(_)),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_range("items=0-1"),
            Err(Error::BadRequest(_))
        ));
        assert_eq!(parse_if_none_match("*"), IfNoneMatch::Any);
        assert_eq!(
            parse_if_none_match("W/\"x\", \"abc\""),
            IfNoneMatch::Tags(vec!["\"x\"".into(), "\"abc\"".into()])
        );
        // The bare digest (what /s/{token} shows) is no entity tag.
        assert_eq!(parse_if_none_match("abc"), IfNoneMatch::Tags(vec![]));
    }

    #[test]
    fn content_disposition_cannot_inject_headers() {
        let v = content_disposition("evil\"\r\nSet-Cookie: x=1.txt");
        let s = v.to_str().unwrap();
        assert!(!s.contains('\r') && !s.contains('\n'));
        assert!(s.starts_with("attachment; filename=\"evil_"));
        assert!(s.contains("filename*=UTF-8''evil%22%0D%0ASet-Cookie%3A%20x%3D1.txt"));
        let v = content_disposition("résumé.pdf");
        assert!(
            v.to_str()
                .unwrap()
                .contains("filename*=UTF-8''r%C3%A9sum%C3%A9.pdf")
        );
    }
}
