//! Locked accounts: `GET /admin/lockouts` and `DELETE /admin/users/{id}/lockout`.

use axum::Json;
use axum::extract::{Path, Query, State};
use http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;

use super::Caller;
use crate::app::AppState;
use crate::domain::lockout::LockedPage;
use crate::error::Result;
use crate::http::problem::Problem;

/// Paging through the locks.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LockoutQuery {
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// At most this many (1 to 1000, default 100).
    pub limit: Option<u32>,
}

/// Accounts locked after too many failed sign-ins, oldest lock first (addresses without an
/// account are locked alike, and listed without a user id).
#[utoipa::path(get, path = "/admin/lockouts", tag = "admin", security(("bearer" = [])), params(LockoutQuery),
    responses((status = 200, body = LockedPage), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<LockoutQuery>,
) -> Result<Json<LockedPage>> {
    caller.0.user_id()?;
    Ok(Json(
        app.lockout
            .locked(&caller.0, q.after.as_deref(), q.limit.unwrap_or(100))
            .await?,
    ))
}

/// Lifts an account's sign-in lock and forgets its failures (a password reset does too).
#[utoipa::path(delete, path = "/admin/users/{id}/lockout", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn unlock(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    caller.0.user_id()?;
    app.lockout.unlock(&caller.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
