//! `GET /files/{id}/activity` and `GET /folders/{id}/activity`: histories from the audit trail.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use utoipa::IntoParams;

use super::Caller;
use crate::app::AppState;
use crate::domain::activity::{Filter, History};
use crate::error::Result;
use crate::http::problem::Problem;

/// Which entries of a history.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Actions equal to or below this (`file`, `share`, `file.downloaded`).
    pub action: Option<String>,
    /// Only what this user (an id) did.
    pub actor: Option<String>,
    /// At or after (RFC 3339).
    pub since: Option<String>,
    /// Before (RFC 3339).
    pub until: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<usize>,
    /// The `next` of the page before.
    pub after: Option<String>,
}

impl From<HistoryQuery> for Filter {
    fn from(q: HistoryQuery) -> Filter {
        Filter {
            action: q.action,
            actor: q.actor,
            since: q.since,
            until: q.until,
            limit: q.limit,
            after: q.after,
        }
    }
}

/// Who did what to a file, newest first (for those who may read it).
#[utoipa::path(get, path = "/files/{id}/activity", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id"), HistoryQuery),
    responses((status = 200, body = History), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn file(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<History>> {
    Ok(Json(app.activity.of_file(&caller.0, &id, &q.into()).await?))
}

/// Who did what to a folder and everything in it, newest first (for those who may read it).
#[utoipa::path(get, path = "/folders/{id}/activity", tag = "folders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Folder id"), HistoryQuery),
    responses((status = 200, body = History), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn folder(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<History>> {
    Ok(Json(
        app.activity.of_folder(&caller.0, &id, &q.into()).await?,
    ))
}
