//! Custom fields: `PATCH /files/{id}/fields`, and team schemas at `/teams/{id}/fields`.

use axum::Json;
use axum::extract::{Path, State};

use super::Caller;
use crate::app::AppState;
use crate::domain::fields::FieldSpec;
use crate::domain::files::FileMeta;
use crate::error::Result;
use crate::http::problem::Problem;

/// Sets a file's fields: an object of key to value (a string, number, boolean, or
/// `{"type": "date", "value": "2026-12-31"}`; a string is a date where the team's schema says
/// so), `null` removing a key. You need to be able to write the file.
#[utoipa::path(patch, path = "/files/{id}/fields", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")),
    request_body(content = Object, description = "key -> value; null removes"),
    responses((status = 200, body = FileMeta), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn change(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(patch): Json<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<FileMeta>> {
    Ok(Json(app.fields.change(&caller.0, &id, &patch).await?))
}

/// A team's field schema (members); empty: none, any field goes.
#[utoipa::path(get, path = "/teams/{id}/fields", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id")),
    responses((status = 200, body = Vec<FieldSpec>), (status = 404, body = Problem)))]
pub async fn schema(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<FieldSpec>>> {
    Ok(Json(app.fields.schema(&caller.0, &id).await?))
}

/// Replaces a team's field schema (team admins; `[]` removes it). Fields on the team's files
/// must then be declared, of their type, and one of the `choices` where given.
#[utoipa::path(put, path = "/teams/{id}/fields", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id")), request_body = Vec<FieldSpec>,
    responses((status = 200, body = Vec<FieldSpec>), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn set_schema(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(specs): Json<Vec<FieldSpec>>,
) -> Result<Json<Vec<FieldSpec>>> {
    Ok(Json(app.fields.set_schema(&caller.0, &id, &specs).await?))
}
