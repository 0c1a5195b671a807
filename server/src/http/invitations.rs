//! Invitations: `/invitations` (send, list, resend, revoke), `/invitations/accept` (what a link
//! offers, and accepting it) and `/teams/{id}/invitations`.

use axum::Json;
use axum::extract::{Path, Query, State};
use http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::Caller;
use crate::app::AppState;
use crate::domain::invitations::{Accepted, Invitation, NewAccount, Sent};
use crate::error::Result;
use crate::http::problem::Problem;

/// A new invitation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    /// Who to invite.
    pub email: String,
    /// To this team (its admins invite); absent: to the platform (administrators invite).
    #[serde(default)]
    pub team_id: Option<String>,
    /// A team role (`admin`, `editor`, `guest`), or `member` or `admin` of the platform.
    pub role: String,
    /// Until when (RFC 3339, at most 30 days ahead; default in 7 days).
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// The token of an invitation link.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvitationLink {
    /// The `token` of the link.
    pub token: String,
}

/// Accepting an invitation; signed out, `name` and `password` create the account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Acceptance {
    /// The `token` of the link.
    pub token: String,
    /// The new account's display name (signed out only).
    #[serde(default)]
    pub name: Option<String>,
    /// The new account's password (signed out only).
    #[serde(default)]
    pub password: Option<String>,
}

/// Invites an address: mailed when `[smtp]` is set, otherwise the link is in the answer.
#[utoipa::path(post, path = "/invitations", tag = "teams", security(("bearer" = [])),
    request_body = NewInvitation,
    responses((status = 201, body = Sent), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    Json(i): Json<NewInvitation>,
) -> Result<(StatusCode, Json<Sent>)> {
    caller.0.user_id()?;
    let sent = app
        .invitations
        .invite(
            &caller.0,
            &i.email,
            i.team_id.as_deref(),
            &i.role,
            i.expires_at.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(sent)))
}

/// The invitations I sent, newest first.
#[utoipa::path(get, path = "/invitations", tag = "teams", security(("bearer" = [])),
    responses((status = 200, body = Vec<Invitation>), (status = 401, body = Problem)))]
pub async fn sent(State(app): State<AppState>, caller: Caller) -> Result<Json<Vec<Invitation>>> {
    caller.0.user_id()?;
    Ok(Json(app.invitations.sent(&caller.0).await?))
}

/// The invitations to a team (its admins).
#[utoipa::path(get, path = "/teams/{id}/invitations", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Team id")),
    responses((status = 200, body = Vec<Invitation>), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn of_team(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Invitation>>> {
    caller.0.user_id()?;
    Ok(Json(app.invitations.of_team(&caller.0, &id).await?))
}

/// Sends an invitation again (expired ones too) with a new link; the old one stops working.
#[utoipa::path(post, path = "/invitations/{id}/resend", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Invitation id")),
    responses((status = 200, body = Sent), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 410, body = Problem)))]
pub async fn resend(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Sent>> {
    caller.0.user_id()?;
    Ok(Json(app.invitations.resend(&caller.0, &id).await?))
}

/// Revokes an open invitation.
#[utoipa::path(delete, path = "/invitations/{id}", tag = "teams", security(("bearer" = [])),
    params(("id" = String, Path, description = "Invitation id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 410, body = Problem)))]
pub async fn revoke(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    caller.0.user_id()?;
    app.invitations.revoke(&caller.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What an invitation link offers (anyone holding it; nothing changes).
#[utoipa::path(get, path = "/invitations/accept", tag = "teams",
    params(InvitationLink),
    responses((status = 200, body = Invitation), (status = 404, body = Problem)))]
pub async fn describe(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<InvitationLink>,
) -> Result<Json<Invitation>> {
    Ok(Json(app.invitations.describe(&caller.0, &q.token).await?))
}

/// Accepts an invitation: signed in as the invited address, or signed out with the new
/// account's `name` and `password`.
#[utoipa::path(post, path = "/invitations/accept", tag = "teams",
    request_body = Acceptance,
    responses((status = 200, body = Accepted), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 410, body = Problem), (status = 422, body = Problem)))]
pub async fn accept(
    State(app): State<AppState>,
    caller: Caller,
    Json(a): Json<Acceptance>,
) -> Result<Json<Accepted>> {
    let new = NewAccount {
        name: a.name.as_deref(),
        password: a.password.as_deref(),
    };
    Ok(Json(
        app.invitations.accept(&caller.0, &a.token, new).await?,
    ))
}
