//! Teams: `/teams` (members and platform administrators) and `/admin/teams`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::Caller;
use crate::app::AppState;
use crate::domain::teams::{HandedOver, Team, TeamDetail, TeamMember};
use crate::domain::trash::TrashItem;
use crate::error::Result;
use crate::http::problem::Problem;

/// A new team, or a new name for one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamName {
    /// Display name (also the name of its space folder).
    pub name: String,
}

/// A member's role: adds the account with `email` or changes its role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamRoleChange {
    /// The member's e-mail.
    pub email: String,
    /// `admin`, `editor` or `guest`.
    pub role: String,
}

/// Who takes the team over.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamTransfer {
    /// A member's e-mail: they become admin, the caller editor.
    pub email: String,
}

/// Paging of the team list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TeamPage {
    /// Teams with ids after this one.
    pub after: Option<String>,
    /// At most this many (1 to 1000, default 100).
    pub limit: Option<usize>,
}

/// Creates a team, with the caller as its admin and a space it owns.
#[utoipa::path(post, path = "/teams", tag = "teams", security(("bearer" = [])),
    request_body = TeamName,
    responses((status = 201, body = Team), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    Json(t): Json<TeamName>,
) -> Result<(StatusCode, Json<Team>)> {
    caller.0.user_id()?;
    let team = app.teams.create(&caller.0, &t.name).await?;
    Ok((StatusCode::CREATED, Json(team)))
}

/// The teams I am in, with my role.
#[utoipa::path(get, path = "/teams", tag = "teams", security(("bearer" = [])),
    responses((status = 200, body = Vec<Team>), (status = 401, body = Problem)))]
pub async fn mine(State(app): State<AppState>, caller: Caller) -> Result<Json<Vec<Team>>> {
    caller.0.user_id()?;
    Ok(Json(app.teams.mine(&caller.0).await?))
}

/// Every team, by id (administrators).
#[utoipa::path(get, path = "/admin/teams", tag = "admin", security(("bearer" = [])),
    params(TeamPage),
    responses((status = 200, body = Vec<Team>), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn list_all(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<TeamPage>,
) -> Result<Json<Vec<Team>>> {
    caller.0.user_id()?;
    Ok(Json(
        app.teams
            .list_all(&caller.0, q.after.as_deref(), q.limit.unwrap_or(100))
            .await?,
    ))
}

/// A team and its members (members and administrators; anyone else: 404).
#[utoipa::path(get, path = "/teams/{id}", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id")),
    responses((status = 200, body = TeamDetail), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TeamDetail>> {
    caller.0.user_id()?;
    Ok(Json(app.teams.get(&caller.0, &id).await?))
}

/// Renames a team and its space (team admins).
#[utoipa::path(patch, path = "/teams/{id}", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id")), request_body = TeamName,
    responses((status = 200, body = Team), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn rename(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(t): Json<TeamName>,
) -> Result<Json<Team>> {
    caller.0.user_id()?;
    Ok(Json(app.teams.rename(&caller.0, &id, &t.name).await?))
}

/// How a team goes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TeamDeletion {
    /// Hand the space, everything in it and its trash to this member (by e-mail) instead of
    /// refusing while it holds anything.
    pub transfer_to: Option<String>,
}

/// Deletes a team (team admins): 204 when its space is empty (409 while it holds anything,
/// trash included); with `transfer_to`, 200: the space and all it holds go to that member
/// (re-encrypted under their keys), counted against their quota (507 past it).
#[utoipa::path(delete, path = "/teams/{id}", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id"), TeamDeletion),
    responses((status = 204), (status = 200, body = HandedOver), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 507, body = Problem)))]
pub async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<TeamDeletion>,
) -> Result<Response> {
    caller.0.user_id()?;
    match q.transfer_to {
        None => {
            app.teams.delete(&caller.0, &id).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Some(to) => {
            let handed = app.teams.delete_handing_over(&caller.0, &id, &to).await?;
            Ok(Json(handed).into_response())
        }
    }
}

/// Adds a member or changes a role (team admins); 409 when it would leave no admin.
#[utoipa::path(put, path = "/teams/{id}/members", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id")), request_body = TeamRoleChange,
    responses((status = 200, body = TeamMember), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn set_role(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(c): Json<TeamRoleChange>,
) -> Result<Json<TeamMember>> {
    caller.0.user_id()?;
    Ok(Json(
        app.teams
            .set_role(&caller.0, &id, &c.email, &c.role)
            .await?,
    ))
}

/// Takes a member out (team admins); 409 for the last admin.
#[utoipa::path(delete, path = "/teams/{id}/members/{user_id}", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id"), ("user_id" = String, Path, description = "User id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn remove_member(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    caller.0.user_id()?;
    app.teams.remove_member(&caller.0, &id, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Leaves a team; 409 for its last admin (hand it over first).
#[utoipa::path(post, path = "/teams/{id}/leave", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id")),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn leave(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    caller.0.user_id()?;
    app.teams.leave(&caller.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Hands the team over: the member becomes admin, the caller (an admin) editor.
#[utoipa::path(post, path = "/teams/{id}/transfer", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id")), request_body = TeamTransfer,
    responses((status = 200, body = TeamDetail), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn transfer(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(t): Json<TeamTransfer>,
) -> Result<Json<TeamDetail>> {
    caller.0.user_id()?;
    Ok(Json(app.teams.transfer(&caller.0, &id, &t.email).await?))
}

/// The team's trash: what was deleted from its space, oldest first (team admins; restore and
/// purge through `/trash/{kind}/{id}` like any item).
#[utoipa::path(get, path = "/teams/{id}/trash", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id")),
    responses((status = 200, body = Vec<TrashItem>), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn trash(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<TrashItem>>> {
    caller.0.user_id()?;
    let team = app.teams.get(&caller.0, &id).await?;
    Ok(Json(
        app.files
            .space_trash(&caller.0, &team.team.space_id)
            .await?,
    ))
}
