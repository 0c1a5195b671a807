//! `/folders`.

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::Caller;
use crate::app::AppState;
use crate::domain::folders::Folder;
use crate::error::Result;
use crate::http::problem::Problem;

/// A new folder.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFolder {
    /// Name: 1 to 255 bytes, no `/`, `\\` or control characters.
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^/\\\x00-\x1f\x7f]+$",
        example = "reports"
    )]
    pub name: String,
    /// Parent folder id (default: your root).
    pub parent_id: Option<String>,
}

/// Creates a folder.
#[utoipa::path(post, path = "/folders", tag = "folders", security(("bearer" = [])), request_body = NewFolder,
    responses((status = 201, body = Folder), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    Json(n): Json<NewFolder>,
) -> Result<(StatusCode, Json<Folder>)> {
    let f = app
        .folders
        .create(&caller.0, n.parent_id.as_deref(), &n.name)
        .await?;
    Ok((StatusCode::CREATED, Json(f)))
}

/// A folder's metadata.
#[utoipa::path(get, path = "/folders/{id}", tag = "folders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Folder id")),
    responses((status = 200, body = Folder), (status = 404, body = Problem)))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Folder>> {
    Ok(Json(app.folders.get(&caller.0, &id).await?))
}

/// A change to a folder.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FolderPatch {
    /// New name.
    #[schema(min_length = 1, max_length = 255, pattern = r"^[^/\\\x00-\x1f\x7f]+$")]
    pub name: Option<String>,
    /// New parent id (`""` for your root).
    pub parent_id: Option<String>,
    /// Public or private.
    pub public: Option<bool>,
}

/// Renames, moves or publishes a folder.
#[utoipa::path(patch, path = "/folders/{id}", tag = "folders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Folder id")), request_body = FolderPatch,
    responses((status = 200, body = Folder), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(p): Json<FolderPatch>,
) -> Result<Json<Folder>> {
    if p.name.is_none() && p.parent_id.is_none() && p.public.is_none() {
        return Err(crate::error::Error::Invalid(
            "nothing to change: give name, parent_id and/or public".into(),
        ));
    }
    Ok(Json(
        app.folders
            .update(
                &caller.0,
                &id,
                p.name.as_deref(),
                p.parent_id.as_deref(),
                p.public,
            )
            .await?,
    ))
}

/// Moves a folder, with everything in it, to the trash.
#[utoipa::path(delete, path = "/folders/{id}", tag = "folders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Folder id")),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    app.folders.delete(&caller.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
