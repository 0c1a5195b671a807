//! Shares with named users: `/files/{id}/grants`, `/folders/{id}/grants`, `/shared`.

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::Caller;
use crate::app::AppState;
use crate::domain::grants::{Grant, ShareRequest};
use crate::error::Result;
use crate::http::problem::Problem;

/// A share with a named user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGrant {
    /// The user's email.
    pub email: String,
    /// `viewer`, `commenter` or `editor`.
    pub role: String,
}

/// Shares a file with a user.
#[utoipa::path(post, path = "/files/{id}/grants", tag = "sharing", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")), request_body = NewGrant,
    responses((status = 202, body = ShareRequest), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn grant_file(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(g): Json<NewGrant>,
) -> Result<(StatusCode, Json<ShareRequest>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(
            app.shares
                .grant(&caller.0, "file", &id, &g.email, &g.role)
                .await?,
        ),
    ))
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
    app.shares.revoke(&caller.0, "file", &id, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Shares a folder (and everything in it) with a user.
#[utoipa::path(post, path = "/folders/{id}/grants", tag = "sharing", security(("bearer" = [])),
    params(("id" = String, Path, description = "Folder id")), request_body = NewGrant,
    responses((status = 202, body = ShareRequest), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn grant_folder(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(g): Json<NewGrant>,
) -> Result<(StatusCode, Json<ShareRequest>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(
            app.shares
                .grant(&caller.0, "folder", &id, &g.email, &g.role)
                .await?,
        ),
    ))
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
        .revoke(&caller.0, "folder", &id, &user_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What others shared with me.
#[utoipa::path(get, path = "/shared", tag = "sharing", security(("bearer" = [])),
    responses((status = 200, body = Vec<Grant>), (status = 401, body = Problem)))]
pub async fn shared_with_me(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Grant>>> {
    Ok(Json(app.shares.shared_with_me(&caller.0).await?))
}
