//! Share links: `/files/{id}/links`, `/links`, and the anonymous side `/s/{token}`.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;

use super::Caller;
use super::files::{deliver, want};
use crate::app::AppState;
use crate::domain::links::{CreatedLink, Link, LinkInfo, LinkOptions};
use crate::error::Result;
use crate::http::problem::Problem;

/// Options of a new link.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    /// Lifetime in seconds (default 7 days, at most 365 days).
    pub ttl_secs: Option<u64>,
    /// Password visitors must give (X-Link-Password header).
    pub password: Option<String>,
    /// Download limit.
    pub max_downloads: Option<u64>,
}

/// Creates a public link to a file.
#[utoipa::path(post, path = "/files/{id}/links", tag = "links", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")), request_body = NewLink,
    responses((status = 201, body = CreatedLink), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(n): Json<NewLink>,
) -> Result<(StatusCode, Json<CreatedLink>)> {
    let opts = LinkOptions {
        ttl_secs: n.ttl_secs,
        password: n.password,
        max_downloads: n.max_downloads,
    };
    Ok((
        StatusCode::CREATED,
        Json(app.links.create(&caller.0, &id, &opts).await?),
    ))
}

/// Links of a file.
#[utoipa::path(get, path = "/files/{id}/links", tag = "links", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")),
    responses((status = 200, body = Vec<Link>), (status = 404, body = Problem)))]
pub async fn for_file(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Link>>> {
    Ok(Json(app.links.for_file(&caller.0, &id).await?))
}

/// Links I created.
#[utoipa::path(get, path = "/links", tag = "links", security(("bearer" = [])),
    responses((status = 200, body = Vec<Link>), (status = 401, body = Problem)))]
pub async fn mine(State(app): State<AppState>, caller: Caller) -> Result<Json<Vec<Link>>> {
    Ok(Json(app.links.mine(&caller.0).await?))
}

/// Revokes a link.
#[utoipa::path(delete, path = "/links/{id}", tag = "links", security(("bearer" = [])),
    params(("id" = String, Path, description = "Link id")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn revoke(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    app.links.revoke(&caller.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn password(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-link-password")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// What a link opens (anonymous).
#[utoipa::path(get, path = "/s/{token}", tag = "links",
    params(("token" = String, Path, description = "Link token"), ("X-Link-Password" = Option<String>, Header, description = "The link's password, if it has one")),
    responses((status = 200, body = LinkInfo), (status = 401, body = Problem), (status = 404, body = Problem), (status = 410, body = Problem), (status = 429, body = Problem)))]
pub async fn info(
    State(app): State<AppState>,
    caller: Caller,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Json<LinkInfo>> {
    Ok(Json(
        app.links
            .info(&caller.anonymous(), &token, password(&headers).as_deref())
            .await?,
    ))
}

/// Downloads through a link (anonymous; counts against its download limit).
#[utoipa::path(get, path = "/s/{token}/content", tag = "links",
    params(("token" = String, Path, description = "Link token"), ("X-Link-Password" = Option<String>, Header, description = "The link's password, if it has one")),
    responses((status = 200, description = "The content"), (status = 206, description = "A range"), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 410, body = Problem), (status = 429, body = Problem)))]
pub async fn download(
    State(app): State<AppState>,
    caller: Caller,
    Path(token): Path<String>,
    method: http::Method,
    headers: HeaderMap,
) -> Result<Response> {
    let d = app
        .links
        .download(
            &caller.anonymous(),
            &token,
            password(&headers).as_deref(),
            &want(&method, &headers)?,
        )
        .await?;
    Ok(deliver(&app, d))
}
