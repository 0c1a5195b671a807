//! Groups: `/admin/groups` (platform groups, administrators), `/teams/{id}/groups` (a team's
//! groups: its admins manage them, its members see them) and `/me/groups`.

use axum::Json;
use axum::extract::{Path, Query, State};
use http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::Caller;
use crate::app::AppState;
use crate::domain::groups::{Group, GroupDetail, NewMember, Scope};
use crate::error::Result;
use crate::http::problem::Problem;

/// A new group.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroup {
    /// 1 to 64 of a-z, 0-9, `.`, `_`, `-`, fixed: the id policies name (`Group::"<id>"`); in a
    /// team, the part after `<team id>.`.
    pub id: String,
    /// Display name (default: the id).
    #[serde(default)]
    pub name: Option<String>,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
}

/// A change to a group; omitted fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupChange {
    /// New display name.
    #[serde(default)]
    pub name: Option<String>,
    /// New description.
    #[serde(default)]
    pub description: Option<String>,
}

/// Who to add: exactly one of a user's `email` or a `group` id (nested).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroupMember {
    /// The user's e-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// A group to nest inside this one.
    #[serde(default)]
    pub group: Option<String>,
}

/// Paging of the group list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupPage {
    /// Groups with ids after this one.
    pub after: Option<String>,
    /// At most this many (1 to 1000, default 100).
    pub limit: Option<usize>,
}

/// Creates a group.
#[utoipa::path(post, path = "/admin/groups", tag = "admin", security(("bearer" = [])),
    request_body = NewGroup,
    responses((status = 201, body = Group), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    Json(g): Json<NewGroup>,
) -> Result<(StatusCode, Json<Group>)> {
    caller.0.user_id()?;
    let group = app
        .groups
        .create(
            &caller.0,
            Scope::Platform,
            &g.id,
            g.name.as_deref(),
            g.description.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(group)))
}

/// Groups by id.
#[utoipa::path(get, path = "/admin/groups", tag = "admin", security(("bearer" = [])),
    params(GroupPage),
    responses((status = 200, body = Vec<Group>), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<GroupPage>,
) -> Result<Json<Vec<Group>>> {
    caller.0.user_id()?;
    Ok(Json(
        app.groups
            .list(
                &caller.0,
                Scope::Platform,
                q.after.as_deref(),
                q.limit.unwrap_or(100),
            )
            .await?,
    ))
}

/// A group and its direct members.
#[utoipa::path(get, path = "/admin/groups/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Group id")),
    responses((status = 200, body = GroupDetail), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<GroupDetail>> {
    caller.0.user_id()?;
    Ok(Json(app.groups.get(&caller.0, Scope::Platform, &id).await?))
}

/// Renames or re-describes a group (its id stays).
#[utoipa::path(patch, path = "/admin/groups/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Group id")), request_body = GroupChange,
    responses((status = 200, body = Group), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(c): Json<GroupChange>,
) -> Result<Json<Group>> {
    caller.0.user_id()?;
    Ok(Json(
        app.groups
            .update(
                &caller.0,
                Scope::Platform,
                &id,
                c.name.as_deref(),
                c.description.as_deref(),
            )
            .await?,
    ))
}

/// Deletes a group: its members lose what it gave them, and its shares go.
#[utoipa::path(delete, path = "/admin/groups/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Group id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    caller.0.user_id()?;
    app.groups.delete(&caller.0, Scope::Platform, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a user or a group to a group: 201 when added, 200 when it was a member already.
#[utoipa::path(post, path = "/admin/groups/{id}/members", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Group id")), request_body = NewGroupMember,
    responses((status = 201, body = GroupDetail), (status = 200, body = GroupDetail), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add_member(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(m): Json<NewGroupMember>,
) -> Result<(StatusCode, Json<GroupDetail>)> {
    add(&app, &caller, Scope::Platform, &id, &m).await
}

async fn add(
    app: &AppState,
    caller: &Caller,
    scope: Scope<'_>,
    id: &str,
    m: &NewGroupMember,
) -> Result<(StatusCode, Json<GroupDetail>)> {
    caller.0.user_id()?;
    let member = match (&m.email, &m.group) {
        (Some(e), None) => Some(NewMember::Email(e)),
        (None, Some(g)) => Some(NewMember::Group(g)),
        _ => None,
    };
    let added = app.groups.add_member(&caller.0, scope, id, member).await?;
    let detail = app.groups.get(&caller.0, scope, id).await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(detail)))
}

/// Removes a member (`kind` is `user` or `group`).
#[utoipa::path(delete, path = "/admin/groups/{id}/members/{kind}/{member_id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Group id"), ("kind" = String, Path, description = "user or group"),
        ("member_id" = String, Path, description = "User or group id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn remove_member(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, kind, member_id)): Path<(String, String, String)>,
) -> Result<StatusCode> {
    caller.0.user_id()?;
    app.groups
        .remove_member(&caller.0, Scope::Platform, &id, &kind, &member_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The groups I am in, directly or through nested groups.
#[utoipa::path(get, path = "/me/groups", tag = "account", security(("bearer" = [])),
    responses((status = 200, body = Vec<Group>), (status = 401, body = Problem)))]
pub async fn mine(State(app): State<AppState>, caller: Caller) -> Result<Json<Vec<Group>>> {
    caller.0.user_id()?;
    Ok(Json(app.groups.mine(&caller.0).await?))
}

/// Creates a group in a team (its admins): its id is `<team id>.<id>`.
#[utoipa::path(post, path = "/teams/{id}/groups", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id")), request_body = NewGroup,
    responses((status = 201, body = Group), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn team_create(
    State(app): State<AppState>,
    caller: Caller,
    Path(team): Path<String>,
    Json(g): Json<NewGroup>,
) -> Result<(StatusCode, Json<Group>)> {
    caller.0.user_id()?;
    let group = app
        .groups
        .create(
            &caller.0,
            Scope::Team(&team),
            &g.id,
            g.name.as_deref(),
            g.description.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(group)))
}

/// A team's groups by id (its members).
#[utoipa::path(get, path = "/teams/{id}/groups", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id"), GroupPage),
    responses((status = 200, body = Vec<Group>), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn team_list(
    State(app): State<AppState>,
    caller: Caller,
    Path(team): Path<String>,
    Query(q): Query<GroupPage>,
) -> Result<Json<Vec<Group>>> {
    caller.0.user_id()?;
    Ok(Json(
        app.groups
            .list(
                &caller.0,
                Scope::Team(&team),
                q.after.as_deref(),
                q.limit.unwrap_or(100),
            )
            .await?,
    ))
}

/// A team's group and its direct members (the team's members); `group_id` is its whole id or
/// the part after `<team id>.`.
#[utoipa::path(get, path = "/teams/{id}/groups/{group_id}", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id"), ("group_id" = String, Path, description = "Group id")),
    responses((status = 200, body = GroupDetail), (status = 404, body = Problem)))]
pub async fn team_get(
    State(app): State<AppState>,
    caller: Caller,
    Path((team, id)): Path<(String, String)>,
) -> Result<Json<GroupDetail>> {
    caller.0.user_id()?;
    Ok(Json(
        app.groups.get(&caller.0, Scope::Team(&team), &id).await?,
    ))
}

/// Renames or re-describes a team's group (its admins).
#[utoipa::path(patch, path = "/teams/{id}/groups/{group_id}", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id"), ("group_id" = String, Path, description = "Group id")),
    request_body = GroupChange,
    responses((status = 200, body = Group), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn team_update(
    State(app): State<AppState>,
    caller: Caller,
    Path((team, id)): Path<(String, String)>,
    Json(c): Json<GroupChange>,
) -> Result<Json<Group>> {
    caller.0.user_id()?;
    Ok(Json(
        app.groups
            .update(
                &caller.0,
                Scope::Team(&team),
                &id,
                c.name.as_deref(),
                c.description.as_deref(),
            )
            .await?,
    ))
}

/// Deletes a team's group (its admins): its members lose what it gave them, its shares go.
#[utoipa::path(delete, path = "/teams/{id}/groups/{group_id}", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id"), ("group_id" = String, Path, description = "Group id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn team_delete(
    State(app): State<AppState>,
    caller: Caller,
    Path((team, id)): Path<(String, String)>,
) -> Result<StatusCode> {
    caller.0.user_id()?;
    app.groups
        .delete(&caller.0, Scope::Team(&team), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a member of the team, or another of its groups, to a team's group (its admins): 201
/// when added, 200 when it was a member already.
#[utoipa::path(post, path = "/teams/{id}/groups/{group_id}/members", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id"), ("group_id" = String, Path, description = "Group id")),
    request_body = NewGroupMember,
    responses((status = 201, body = GroupDetail), (status = 200, body = GroupDetail), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn team_add_member(
    State(app): State<AppState>,
    caller: Caller,
    Path((team, id)): Path<(String, String)>,
    Json(m): Json<NewGroupMember>,
) -> Result<(StatusCode, Json<GroupDetail>)> {
    add(&app, &caller, Scope::Team(&team), &id, &m).await
}

/// Removes a member from a team's group (its admins; `kind` is `user` or `group`).
#[utoipa::path(delete, path = "/teams/{id}/groups/{group_id}/members/{kind}/{member_id}", tag = "teams",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id"), ("group_id" = String, Path, description = "Group id"),
        ("kind" = String, Path, description = "user or group"), ("member_id" = String, Path, description = "User or group id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn team_remove_member(
    State(app): State<AppState>,
    caller: Caller,
    Path((team, id, kind, member_id)): Path<(String, String, String, String)>,
) -> Result<StatusCode> {
    caller.0.user_id()?;
    app.groups
        .remove_member(&caller.0, Scope::Team(&team), &id, &kind, &member_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
