//! `/auth/*` and `/me/*`.

use axum::Json;
use axum::extract::{Path, Query, State};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use strongroom_audit::{Actor, AuditQuery, Order};
use strongroom_session_store::{ClientInfo, TokenPair};
use utoipa::{IntoParams, ToSchema};

use super::Caller;
use super::admin::{AuditPage, audit_page, parse_time};
use crate::app::AppState;
use crate::domain::Ctx;
use crate::domain::accounts::{SessionView, User};
use crate::error::Result;
use crate::http::problem::Problem;

/// Registration.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Email address.
    #[schema(format = "email", max_length = 254, example = "ann@example.com")]
    pub email: String,
    /// Display name.
    #[schema(min_length = 1, max_length = 100, example = "Ann")]
    pub name: String,
    /// Password (at least 12 characters).
    #[schema(min_length = 12, max_length = 1024, example = "correct horse battery")]
    pub password: String,
}

/// Login.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Email address.
    pub email: String,
    /// Password.
    pub password: String,
    /// A stable id of the client device (optional).
    pub device_id: Option<String>,
}

/// A refresh.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token.
    pub refresh_token: String,
    /// The device id given at login (optional).
    pub device_id: Option<String>,
}

/// Tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct Tokens {
    /// Bearer access token (JWT).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Access token lifetime, seconds.
    pub expires_in: u64,
    /// Refresh token (rotates on every use).
    pub refresh_token: String,
    /// Session id.
    pub session_id: String,
    /// The signed-in user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
}

fn tokens(app: &AppState, pair: TokenPair, user: Option<User>) -> Tokens {
    Tokens {
        access_token: pair.access_token.as_str().to_owned(),
        token_type: "Bearer",
        expires_in: app.config.auth.access_ttl_secs,
        refresh_token: pair.refresh_token.as_str().to_owned(),
        session_id: pair.session_id.to_string(),
        user,
    }
}

fn client(ctx: &Ctx, device_id: Option<String>) -> ClientInfo {
    let mut c = ClientInfo::new().ip(ctx.ip);
    if let Some(ua) = &ctx.user_agent {
        c = c.user_agent(ua.chars().take(256).collect::<String>());
    }
    if let Some(d) = device_id.filter(|d| !d.is_empty() && d.len() <= 128) {
        c = c.device_id(d);
    }
    c
}

/// The answer to a registration: the same whether or not the address was already registered.
#[derive(Debug, Serialize, ToSchema)]
pub struct Registration {
    /// Always `accepted`.
    pub status: &'static str,
    /// What to do next.
    pub detail: &'static str,
}

/// Registers an account. The answer does not tell whether the address already had one.
#[utoipa::path(post, path = "/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 202, body = Registration), (status = 422, body = Problem)))]
pub async fn register(
    State(app): State<AppState>,
    caller: Caller,
    Json(r): Json<RegisterRequest>,
) -> Result<(StatusCode, Json<Registration>)> {
    app.accounts
        .register(&caller.anonymous(), &r.email, &r.name, &r.password)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Registration {
            status: "accepted",
            detail: "if the address was not registered yet, the account now exists: sign in with it",
        }),
    ))
}

/// Signs in.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Tokens), (status = 401, body = Problem)))]
pub async fn login(
    State(app): State<AppState>,
    caller: Caller,
    Json(r): Json<LoginRequest>,
) -> Result<Json<Tokens>> {
    let ctx = caller.anonymous();
    let c = client(&ctx, r.device_id);
    let (user, pair) = app.accounts.login(&ctx, &r.email, &r.password, c).await?;
    Ok(Json(tokens(&app, pair, Some(user))))
}

/// Trades a refresh token for new tokens.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = Tokens), (status = 401, body = Problem)))]
pub async fn refresh(
    State(app): State<AppState>,
    caller: Caller,
    Json(r): Json<RefreshRequest>,
) -> Result<Json<Tokens>> {
    let ctx = caller.anonymous();
    let c = client(&ctx, r.device_id);
    let pair = app.accounts.refresh(&ctx, &r.refresh_token, &c).await?;
    Ok(Json(tokens(&app, pair, None)))
}

/// Ends this session.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
pub async fn logout(State(app): State<AppState>, caller: Caller) -> Result<StatusCode> {
    app.accounts.logout(&caller.0).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// My profile.
#[utoipa::path(get, path = "/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = User), (status = 401, body = Problem)))]
pub async fn profile(State(app): State<AppState>, caller: Caller) -> Result<Json<User>> {
    Ok(Json(app.accounts.profile(&caller.0).await?))
}

/// What I store (logical and after dedup, versions, trash) and my quota.
#[utoipa::path(get, path = "/me/usage", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = crate::domain::usage::Usage), (status = 401, body = Problem)))]
pub async fn usage(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<Json<crate::domain::usage::Usage>> {
    Ok(Json(app.files.usage(&caller.0).await?))
}

/// A profile change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    /// New display name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// New email.
    #[schema(format = "email", max_length = 254)]
    pub email: Option<String>,
}

/// Changes my name or email.
#[utoipa::path(patch, path = "/me", tag = "me", security(("bearer" = [])), request_body = ProfileUpdate,
    responses((status = 200, body = User), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_profile(
    State(app): State<AppState>,
    caller: Caller,
    Json(u): Json<ProfileUpdate>,
) -> Result<Json<User>> {
    Ok(Json(
        app.accounts
            .update_profile(&caller.0, u.name.as_deref(), u.email.as_deref())
            .await?,
    ))
}

/// Account deletion (the password confirms it).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccount {
    /// Current password.
    pub password: String,
}

/// Deletes my account, files and links.
#[utoipa::path(delete, path = "/me", tag = "me", security(("bearer" = [])), request_body = DeleteAccount,
    responses((status = 204), (status = 403, body = Problem)))]
pub async fn delete_account(
    State(app): State<AppState>,
    caller: Caller,
    Json(d): Json<DeleteAccount>,
) -> Result<StatusCode> {
    app.accounts.delete_account(&caller.0, &d.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub current_password: String,
    /// The new password (at least 12 characters).
    #[schema(min_length = 12, max_length = 1024)]
    pub new_password: String,
}

/// Changes my password; my other sessions are signed out.
#[utoipa::path(post, path = "/me/password", tag = "me", security(("bearer" = [])), request_body = PasswordChange,
    responses((status = 204), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn change_password(
    State(app): State<AppState>,
    caller: Caller,
    Json(p): Json<PasswordChange>,
) -> Result<StatusCode> {
    app.accounts
        .change_password(&caller.0, &p.current_password, &p.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// My sessions.
#[utoipa::path(get, path = "/me/sessions", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = Vec<SessionView>), (status = 401, body = Problem)))]
pub async fn sessions(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<SessionView>>> {
    Ok(Json(app.accounts.sessions(&caller.0).await?))
}

/// Revokes one of my sessions.
#[utoipa::path(delete, path = "/me/sessions/{id}", tag = "me", security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn revoke_session(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    app.accounts.revoke_session(&caller.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Filters of my activity.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ActivityQuery {
    /// Action prefix (`file`, `auth.login` ...).
    pub action: Option<String>,
    /// From (RFC 3339).
    pub since: Option<String>,
    /// Until (RFC 3339).
    pub until: Option<String>,
    /// Page size (default 50, at most 500).
    pub limit: Option<usize>,
    /// Cursor from the previous page.
    pub after: Option<String>,
}

/// My activity log (newest first).
#[utoipa::path(get, path = "/me/activity", tag = "me", security(("bearer" = [])), params(ActivityQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = Problem)))]
pub async fn activity(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<ActivityQuery>,
) -> Result<Json<AuditPage>> {
    let user = app.guard.authorize_own_account(&caller.0).await?;
    let mut query = AuditQuery::new()
        .actor(Actor::User(user))
        .order(Order::NewestFirst);
    if let Some(a) = q.action {
        query = query.action_prefix(a);
    }
    if let Some(s) = q.since {
        query = query.since(parse_time(&s)?);
    }
    if let Some(u) = q.until {
        query = query.until(parse_time(&u)?);
    }
    Ok(Json(audit_page(&app, query, q.limit, q.after).await?))
}
