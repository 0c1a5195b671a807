//! Administration: the hash-chained audit trail (`/audit`) and accounts (`/admin/users`).

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use strongroom_audit::{Actor, AuditQuery, Cursor, Order, Outcome, Resource, Timestamp};
use utoipa::{IntoParams, ToSchema};

use super::Caller;
use crate::app::AppState;
use crate::domain::accounts::User;
use crate::error::{Error, Result};
use crate::http::problem::Problem;

/// One audit record.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    /// Position in the chain.
    pub seq: u64,
    /// Record hash (hex).
    pub hash: String,
    /// The event (CloudEvents-compatible JSON).
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

/// A page of audit records.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// Records.
    pub records: Vec<AuditEntry>,
    /// Cursor for the next page.
    pub next: Option<String>,
}

/// Parses an RFC 3339 time from a query.
pub fn parse_time(s: &str) -> Result<Timestamp> {
    s.parse()
        .map_err(|_| Error::BadRequest(format!("invalid time {s:?}: use RFC 3339")))
}

/// Runs `query` with paging arguments.
pub async fn audit_page(
    app: &AppState,
    mut query: AuditQuery,
    limit: Option<usize>,
    after: Option<String>,
) -> Result<AuditPage> {
    let limit = limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Error::BadRequest("limit must be between 1 and 500".into()));
    }
    query = query.limit(limit);
    if let Some(a) = after {
        let c: Cursor = a
            .parse()
            .map_err(|_| Error::BadRequest("invalid cursor".into()))?;
        query = query.after(c);
    }
    let page = app.audit.query(&query).await?;
    Ok(AuditPage {
        records: page
            .records
            .into_iter()
            .map(|r| AuditEntry {
                seq: r.seq,
                hash: r.hash.to_string(),
                event: serde_json::from_str(&r.event.to_json()).unwrap_or_default(),
            })
            .collect(),
        next: page.next.map(|c| c.to_string()),
    })
}

/// Audit filters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditFilter {
    /// Actor user id.
    pub user: Option<String>,
    /// Action prefix (`file`, `auth` ...).
    pub action: Option<String>,
    /// Resource type (with `resource_id`).
    pub resource_type: Option<String>,
    /// Resource id.
    pub resource_id: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: Option<String>,
    /// From (RFC 3339).
    pub since: Option<String>,
    /// Until (RFC 3339).
    pub until: Option<String>,
    /// `newest` (default) or `oldest` first.
    pub order: Option<String>,
    /// Page size (default 50, at most 500).
    pub limit: Option<usize>,
    /// Cursor from the previous page.
    pub after: Option<String>,
}

/// The audit trail.
#[utoipa::path(get, path = "/audit", tag = "admin", security(("bearer" = [])), params(AuditFilter),
    responses((status = 200, body = AuditPage), (status = 403, body = Problem)))]
pub async fn audit(
    State(app): State<AppState>,
    caller: Caller,
    Query(f): Query<AuditFilter>,
) -> Result<Json<AuditPage>> {
    caller.0.user_id()?;
    app.guard
        .authorize_platform(&caller.0, "read_audit")
        .await?;
    let mut q = AuditQuery::new();
    if let Some(u) = f.user {
        q = q.actor(Actor::User(u));
    }
    if let Some(a) = f.action {
        q = q.action_prefix(a);
    }
    match (f.resource_type, f.resource_id) {
        (Some(t), Some(i)) => q = q.resource(Resource::new(t, i)?),
        (None, None) => {}
        _ => {
            return Err(Error::BadRequest(
                "give resource_type and resource_id together".into(),
            ));
        }
    }
    if let Some(o) = f.outcome {
        q = q.outcome(match o.as_str() {
            "success" => Outcome::Success,
            "failure" => Outcome::Failure,
            "denied" => Outcome::Denied,
            _ => {
                return Err(Error::BadRequest(
                    "outcome is success, failure or denied".into(),
                ));
            }
        });
    }
    if let Some(s) = f.since {
        q = q.since(parse_time(&s)?);
    }
    if let Some(u) = f.until {
        q = q.until(parse_time(&u)?);
    }
    q = q.order(match f.order.as_deref() {
        None | Some("newest") => Order::NewestFirst,
        Some("oldest") => Order::OldestFirst,
        Some(_) => return Err(Error::BadRequest("order is newest or oldest".into())),
    });
    Ok(Json(audit_page(&app, q, f.limit, f.after).await?))
}

/// A signed checkpoint, as verify reports it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointView {
    /// The last record it covers.
    pub seq: u64,
    /// When it was signed (RFC 3339).
    pub time: String,
}

/// The result of verifying the chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainReport {
    /// The chain verified.
    pub ok: bool,
    /// Records checked.
    pub records: u64,
    /// The sequence number of the signed head.
    pub head: u64,
    /// The newest signed checkpoint (taken every 1,000 records and at least every minute of
    /// activity).
    pub latest_checkpoint: Option<CheckpointView>,
    /// The newest checkpoint also saved outside the database (the anchor in the keys
    /// directory): records up to it cannot be cut off or the chain emptied unnoticed.
    pub anchored_checkpoint: Option<CheckpointView>,
    /// Records after the newest checkpoint: covered by the hash chain and the signed head only.
    pub after_latest_checkpoint: u64,
    /// Records after the anchored checkpoint: someone who can write the database could drop
    /// these by also restoring an older signed head.
    pub after_anchored_checkpoint: u64,
    /// The first problem, if any.
    pub problem: Option<String>,
}

fn checkpoint(c: Option<strongroom_audit::Checkpoint>) -> Option<CheckpointView> {
    c.map(|c| CheckpointView {
        seq: c.seq,
        time: c.time.to_string(),
    })
}

/// Verifies the whole audit chain: hashes, links, every stored column against its event, the
/// signed head, signed checkpoints and the anchor outside the database.
#[utoipa::path(get, path = "/audit/verify", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = ChainReport), (status = 403, body = Problem)))]
pub async fn verify_chain(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<Json<ChainReport>> {
    caller.0.user_id()?;
    app.guard
        .authorize_platform(&caller.0, "read_audit")
        .await?;
    Ok(Json(match app.audit.verify(..).await {
        Ok(r) => ChainReport {
            ok: true,
            records: r.records,
            head: r.head,
            latest_checkpoint: checkpoint(r.latest_checkpoint),
            anchored_checkpoint: checkpoint(r.anchored_checkpoint),
            after_latest_checkpoint: r.after_latest_checkpoint,
            after_anchored_checkpoint: r.after_anchored_checkpoint,
            problem: None,
        },
        Err(e @ strongroom_audit::Error::Tampered { .. }) => ChainReport {
            ok: false,
            records: 0,
            head: 0,
            latest_checkpoint: None,
            anchored_checkpoint: None,
            after_latest_checkpoint: 0,
            after_anchored_checkpoint: 0,
            problem: Some(e.to_string()),
        },
        Err(e) => return Err(e.into()),
    }))
}

/// A search of the accounts.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserSearch {
    /// Only accounts whose e-mail or name contains this (case-insensitive).
    pub q: Option<String>,
    /// Only accounts whose e-mail sorts after this one (the last of the previous page).
    pub after: Option<String>,
    /// At most this many (1 to 1000, default 100).
    pub limit: Option<usize>,
}

/// Accounts by e-mail, searched and paged.
#[utoipa::path(get, path = "/admin/users", tag = "admin", security(("bearer" = [])), params(UserSearch),
    responses((status = 200, body = Vec<User>), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn users(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<UserSearch>,
) -> Result<Json<Vec<User>>> {
    caller.0.user_id()?;
    Ok(Json(
        app.accounts
            .list_users(
                &caller.0,
                q.q.as_deref(),
                q.after.as_deref(),
                q.limit.unwrap_or(100),
            )
            .await?,
    ))
}

/// Makes an account an administrator (it is signed out, to sign in with the new role).
#[utoipa::path(post, path = "/admin/users/{id}/admin", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = User), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn grant_admin(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<User>> {
    caller.0.user_id()?;
    Ok(Json(app.accounts.set_admin(&caller.0, &id, true).await?))
}

/// Takes the administrator role away (the account is signed out everywhere at once).
#[utoipa::path(delete, path = "/admin/users/{id}/admin", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = User), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn revoke_admin(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<User>> {
    caller.0.user_id()?;
    Ok(Json(app.accounts.set_admin(&caller.0, &id, false).await?))
}

/// An account's sessions.
#[utoipa::path(get, path = "/admin/users/{id}/sessions", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = Vec<crate::domain::accounts::SessionView>), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn user_sessions(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<crate::domain::accounts::SessionView>>> {
    caller.0.user_id()?;
    Ok(Json(app.accounts.user_sessions(&caller.0, &id).await?))
}

/// Signs an account out everywhere.
#[utoipa::path(delete, path = "/admin/users/{id}/sessions", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke_user_sessions(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<http::StatusCode> {
    caller.0.user_id()?;
    app.accounts
        .revoke_user_sessions(&caller.0, &id, None)
        .await?;
    Ok(http::StatusCode::NO_CONTENT)
}

/// Ends one of an account's sessions.
#[utoipa::path(delete, path = "/admin/users/{id}/sessions/{session_id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id"), ("session_id" = String, Path, description = "Session id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke_user_session(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, session_id)): Path<(String, String)>,
) -> Result<http::StatusCode> {
    caller.0.user_id()?;
    app.accounts
        .revoke_user_sessions(&caller.0, &id, Some(&session_id))
        .await?;
    Ok(http::StatusCode::NO_CONTENT)
}

/// Disables an account: signed out everywhere, logins refused, its links and shares suspended.
#[utoipa::path(post, path = "/admin/users/{id}/disable", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = User), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn disable_user(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<User>> {
    caller.0.user_id()?;
    Ok(Json(app.accounts.set_disabled(&caller.0, &id, true).await?))
}

/// Sets an account's quota: bytes (all versions of all files, trash included) and files; a
/// `null` limit falls back to the operator's default. Uploads past it answer 507.
#[utoipa::path(put, path = "/admin/users/{id}/quota", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    request_body = crate::domain::usage::QuotaChange,
    responses((status = 200, body = User), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn set_quota(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(change): Json<crate::domain::usage::QuotaChange>,
) -> Result<Json<User>> {
    caller.0.user_id()?;
    Ok(Json(app.accounts.set_quota(&caller.0, &id, &change).await?))
}

/// Enables a disabled account.
#[utoipa::path(post, path = "/admin/users/{id}/enable", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = User), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn enable_user(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<User>> {
    caller.0.user_id()?;
    Ok(Json(
        app.accounts.set_disabled(&caller.0, &id, false).await?,
    ))
}

/// A password set by an administrator.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordReset {
    /// The new password, shown once: give it to the account's owner, who should change it.
    pub password: String,
}

/// Sets a new random password on an account and signs it out everywhere.
#[utoipa::path(post, path = "/admin/users/{id}/password-reset", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = PasswordReset), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn reset_password(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<PasswordReset>> {
    caller.0.user_id()?;
    Ok(Json(PasswordReset {
        password: app.accounts.reset_password(&caller.0, &id).await?,
    }))
}

/// Replaces an account's tags and custom field values (the fields declared in
/// `[attributes]`); policies read them as `principal.tags` and `principal.<field>`.
#[utoipa::path(put, path = "/admin/users/{id}/attributes", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    request_body = crate::attributes::UserAttributes,
    responses((status = 200, body = User), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn set_attributes(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(a): Json<crate::attributes::UserAttributes>,
) -> Result<Json<User>> {
    caller.0.user_id()?;
    Ok(Json(app.accounts.set_attributes(&caller.0, &id, &a).await?))
}
