//! The trash: `GET /trash`, `POST /trash/{kind}/{id}/restore`, `DELETE /trash/{kind}/{id}`
//! (purge) and `DELETE /trash` (empty); `kind` is `files` or `folders`.

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;

use super::Caller;
use super::problem::Problem;
use crate::app::AppState;
use crate::domain::trash::{Emptied, Kind, Restored, TrashItem};
use crate::error::Result;

/// The caller's trash: what they deleted, oldest first, with when each is purged.
#[utoipa::path(get, path = "/trash", tag = "trash", security(("bearer" = [])),
    responses((status = 200, body = Vec<TrashItem>), (status = 401, body = Problem)))]
pub async fn list(State(app): State<AppState>, caller: Caller) -> Result<Json<Vec<TrashItem>>> {
    Ok(Json(app.files.trash(&caller.0).await?))
}

/// Puts a trashed file or folder back where it was (the root when that folder is gone); a
/// name taken meanwhile gets ` (2)`, ` (3)` ….
#[utoipa::path(post, path = "/trash/{kind}/{id}/restore", tag = "trash", security(("bearer" = [])),
    params(("kind" = String, Path, description = "`files` or `folders`"), ("id" = String, Path, description = "Its id")),
    responses((status = 200, body = Restored), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn restore(
    State(app): State<AppState>,
    caller: Caller,
    Path((kind, id)): Path<(String, String)>,
) -> Result<Json<Restored>> {
    let kind = Kind::from_segment(&kind)?;
    Ok(Json(
        app.files.restore_from_trash(&caller.0, kind, &id).await?,
    ))
}

/// Deletes a trashed file or folder (with everything in it) for good.
#[utoipa::path(delete, path = "/trash/{kind}/{id}", tag = "trash", security(("bearer" = [])),
    params(("kind" = String, Path, description = "`files` or `folders`"), ("id" = String, Path, description = "Its id")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn purge(
    State(app): State<AppState>,
    caller: Caller,
    Path((kind, id)): Path<(String, String)>,
) -> Result<StatusCode> {
    let kind = Kind::from_segment(&kind)?;
    app.files.purge(&caller.0, kind, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Empties the caller's trash.
#[utoipa::path(delete, path = "/trash", tag = "trash", security(("bearer" = [])),
    responses((status = 200, body = Emptied), (status = 401, body = Problem)))]
pub async fn empty(State(app): State<AppState>, caller: Caller) -> Result<Json<Emptied>> {
    Ok(Json(app.files.empty_trash(&caller.0).await?))
}
