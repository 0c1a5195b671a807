//! Shares with users and groups: `/files/{id}/grants`, `/folders/{id}/grants`, `/shared`,
//! `/shared/by-me`.

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::Caller;
use crate::app::AppState;
use crate::domain::grants::{Grant, ShareRequest, ShareWith};
use crate::error::Result;
use crate::http::problem::Problem;

/// A share with a user (`email`) or a group (`group`): exactly one of the two.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGrant {
    /// The user's email.
    #[serde(default)]
    pub email: Option<String>,
    /// The group's id (you must be in it, or an administrator).
    #[serde(default)]
    pub group: Option<String>,
    /// `viewer`, `commenter` or `editor`.
    pub role: String,
    /// When the share stops granting (RFC 3339, in the future); omitted: until revoked.
    #[serde(default)]
    pub expires_at: Option<String>,
}

impl NewGrant {
    /// Who the share is for; `None` unless exactly one of the two is given.
    fn with(&self) -> Option<ShareWith<'_>> {
        match (&self.email, &self.group) {
            (Some(e), None) => Some(ShareWith::Email(e)),
            (None, Some(g)) => Some(ShareWith::Group(g)),
            _ => None,
        }
    }
}

async fn grant(
    app: &AppState,
    caller: &Caller,
    kind: &str,
    id: &str,
    g: &NewGrant,
) -> Result<(StatusCode, Json<ShareRequest>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(
            app.shares
                .grant(
                    &caller.0,
                    kind,
                    id,
                    g.with(),
                    &g.role,
                    g.expires_at.as_deref(),
                )
                .await?,
        ),
    ))
}

/// Shares a file with a user or a group.
#[utoipa::path(post, path = "/files/{id}/grants", tag = "sharing", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")), request_body = NewGrant,
    responses((status = 202, body = ShareRequest), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn grant_file(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(g): Json<NewGrant>,
) -> Result<(StatusCode, Json<ShareRequest>)> {
    grant(&app, &caller, "file", &id, &g).await
}

/// Who a file is shared with.
#[utoipa::path(get, path = "/files/{id}/grants", tag = "sharing", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")),
    responses((status = 200, body = Vec<Grant>), (status = 404, body = Problem)))]
pub async fn file_grants(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Grant>>> {
    Ok(Json(app.shares.list(&caller.0, "file", &id).await?))
}

/// Stops sharing a file with a user.
#[utoipa::path(delete, path = "/files/{id}/grants/{user_id}", tag = "sharing", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id"), ("user_id" = String, Path, description = "User id")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn revoke_file(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    app.shares
        .revoke(&caller.0, "file", &id, "user", &user_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stops sharing a file with a group.
#[utoipa::path(delete, path = "/files/{id}/grants/groups/{group_id}", tag = "sharing", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id"), ("group_id" = String, Path, description = "Group id")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn revoke_file_group(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, group_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    app.shares
        .revoke(&caller.0, "file", &id, "group", &group_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Shares a folder (and everything in it) with a user or a group.
#[utoipa::path(post, path = "/folders/{id}/grants", tag = "sharing", security(("bearer" = [])),
    params(("id" = String, Path, description = "Folder id")), request_body = NewGrant,
    responses((status = 202, body = ShareRequest), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn grant_folder(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(g): Json<NewGrant>,
) -> Result<(StatusCode, Json<ShareRequest>)> {
    grant(&app, &caller, "folder", &id, &g).await
}

/// Who a folder is shared with.
#[utoipa::path(get, path = "/folders/{id}/grants", tag = "sharing", security(("bearer" = [])),
    params(("id" = String, Path, description = "Folder id")),
    responses((status = 200, body = Vec<Grant>), (status = 404, body = Problem)))]
pub async fn folder_grants(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Grant>>> {
    Ok(Json(app.shares.list(&caller.0, "folder", &id).await?))
}

/// Stops sharing a folder with a user.
#[utoipa::path(delete, path = "/folders/{id}/grants/{user_id}", tag = "sharing", security(("bearer" = [])),
    params(("id" = String, Path, description = "Folder id"), ("user_id" = String, Path, description = "User id")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn revoke_folder(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    app.shares
        .revoke(&caller.0, "folder", &id, "user", &user_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stops sharing a folder with a group.
#[utoipa::path(delete, path = "/folders/{id}/grants/groups/{group_id}", tag = "sharing", security(("bearer" = [])),
    params(("id" = String, Path, description = "Folder id"), ("group_id" = String, Path, description = "Group id")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn revoke_folder_group(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, group_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    app.shares
        .revoke(&caller.0, "folder", &id, "group", &group_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What others shared with me, directly or with a group I am in (shares in force only).
#[utoipa::path(get, path = "/shared", tag = "sharing", security(("bearer" = [])),
    responses((status = 200, body = Vec<Grant>), (status = 401, body = Problem)))]
pub async fn shared_with_me(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Grant>>> {
    Ok(Json(app.shares.shared_with_me(&caller.0).await?))
}

/// What I shared with others (expired shares included, marked).
#[utoipa::path(get, path = "/shared/by-me", tag = "sharing", security(("bearer" = [])),
    responses((status = 200, body = Vec<Grant>), (status = 401, body = Problem)))]
pub async fn shared_by_me(State(app): State<AppState>, caller: Caller) -> Result<Json<Vec<Grant>>> {
    Ok(Json(app.shares.shared_by_me(&caller.0).await?))
}
