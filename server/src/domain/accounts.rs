//! Accounts: registration, login (argon2id), sessions (session-store), profile, deletion.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use serde::Serialize;
use strongroom_audit::Outcome;
use strongroom_session_store::{ClientInfo, Login, SessionId, TokenPair};
use utoipa::ToSchema;

use super::{Ctx, names, rfc3339};
use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::store::{UserChange, UserKey, UserRecord};

/// An account as its owner sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    /// User id.
    pub id: String,
    /// Email (unique, lower-case).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Administrator.
    pub is_admin: bool,
    /// Disabled by an administrator (RFC 3339), if it is.
    pub disabled_at: Option<String>,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last changed (RFC 3339).
    pub updated_at: String,
}

/// A session as its owner sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionView {
    /// Session id.
    pub id: String,
    /// Device id, if the client sent one.
    pub device_id: Option<String>,
    /// IP at login.
    pub ip: Option<String>,
    /// User agent at login.
    pub user_agent: Option<String>,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last used (RFC 3339).
    pub last_used_at: String,
    /// The session making this request.
    pub current: bool,
}

/// Hashes a password with argon2id (OWASP parameters: the crate's defaults) on a blocking thread.
pub async fn hash_password(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(format!("argon2: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(format!("argon2 thread: {e}")))?
}

/// Checks `password` against a PHC hash on a blocking thread; the comparison is constant-time.
pub async fn verify_password(password: String, hash: String) -> AppResult<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash)
            .map_err(|e| AppError::Internal(format!("stored hash: {e}")))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| AppError::Internal(format!("argon2 thread: {e}")))?
}

/// A hash to check against when the account does not exist, so that an unknown email takes as
/// long as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        Argon2::default()
            .hash_password(b"strongroom-decoy-password")
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

fn view(u: UserRecord) -> User {
    User {
        id: u.id,
        email: u.email,
        name: u.name,
        is_admin: u.is_admin,
        disabled_at: u.disabled_at.map(rfc3339),
        created_at: rfc3339(u.created_at),
        updated_at: rfc3339(u.updated_at),
    }
}

async fn record(app: &App, id: &str) -> AppResult<UserRecord> {
    app.users
        .get(UserKey::Id(id))
        .await?
        .ok_or_else(|| AppError::NotFound("no such user".into()))
}

/// Loads a user by id.
pub async fn get_user(app: &App, id: &str) -> AppResult<User> {
    Ok(view(record(app, id).await?))
}

/// The user `id` as a policy principal, if the account exists and is not disabled (links and
/// shares a user made grant only while this holds).
pub async fn active_principal(app: &App, id: &str) -> AppResult<Option<crate::authz::Principal>> {
    Ok(app
        .users
        .get(UserKey::Id(id))
        .await?
        .filter(|u| u.disabled_at.is_none())
        .map(|u| crate::authz::Principal::User {
            id: u.id,
            admin: u.is_admin,
        }))
}

/// Registers an account. The answer is the same whether or not the address already has an
/// account (the password is hashed either way, so the time is the same too): registration is no
/// way to learn who uses the platform. The duplicate attempt is audited.
pub async fn register(
    app: &App,
    ctx: &Ctx,
    email: &str,
    name: &str,
    password: &str,
) -> AppResult<()> {
    super::authorize_platform(app, ctx, "register").await?;
    let email = names::email(email)?;
    let name = names::display_name(name)?;
    names::password(password)?;
    match create_user(app, ctx, &email, &name, password, false).await {
        Ok(_) => Ok(()),
        Err(AppError::Conflict(_)) => {
            let event = ctx
                .event("account.register.duplicate", "user", "-")
                .outcome(Outcome::Failure)
                .build()?;
            Ok(app.events.record(&event).await?)
        }
        Err(e) => Err(e),
    }
}

/// Creates a user row (no authorization: callers decide).
pub async fn create_user(
    app: &App,
    ctx: &Ctx,
    email: &str,
    name: &str,
    password: &str,
    is_admin: bool,
) -> AppResult<User> {
    let hash = hash_password(password.to_owned()).await?;
    let id = uuid::Uuid::now_v7().to_string();
    let now = app.now();
    let event = ctx
        .event("account.registered", "user", &id)
        .attr("admin", is_admin)
        .build()?;
    let user = UserRecord {
        id: id.clone(),
        email: email.to_owned(),
        name: name.to_owned(),
        password_hash: hash,
        is_admin,
        disabled_at: None,
        created_at: now,
        updated_at: now,
    };
    app.users.create(&user, &event).await?;
    get_user(app, &id).await
}

/// Creates the first administrator if there are no users yet; returns the password to print.
pub async fn bootstrap_admin(app: &App) -> AppResult<Option<(String, String)>> {
    if app.users.count().await? > 0 {
        return Ok(None);
    }
    let password = crate::token::random_token("", 18);
    let email = "admin@strongroom.local";
    match create_user(app, &Ctx::system(), email, "Administrator", &password, true).await {
        Ok(_) => Ok(Some((email.to_owned(), password))),
        // Another process bootstrapped first.
        Err(AppError::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Signs in with email and password.
pub async fn login(
    app: &App,
    ctx: &Ctx,
    email: &str,
    password: &str,
    client: ClientInfo,
) -> AppResult<(User, TokenPair)> {
    super::authorize_platform(app, ctx, "login").await?;
    let email_norm = names::email(email).unwrap_or_default();
    let row = app.users.get(UserKey::Email(&email_norm)).await?;
    let (hash, found) = match &row {
        Some(u) => (u.password_hash.clone(), true),
        None => (decoy_hash().to_owned(), false),
    };
    // A disabled account answers like a wrong password (after the same hash work).
    let ok = verify_password(password.to_owned(), hash).await?
        && found
        && row.as_ref().is_some_and(|u| u.disabled_at.is_none());
    let Some(UserRecord { id, is_admin, .. }) = row.filter(|_| ok) else {
        app.metrics.auth_failures.inc();
        let event = ctx
            .event("auth.login.failed", "user", "-")
            .outcome(Outcome::Failure)
            .build()?;
        app.events.record(&event).await?;
        return Err(AppError::Unauthorized("wrong email or password".into()));
    };
    let roles: Vec<&str> = if is_admin { vec!["admin"] } else { vec![] };
    let pair = app
        .sessions
        .login(Login::new(&id).roles(roles).amr(["pwd"]).client(client))
        .await?;
    let mut signed_in = ctx.clone();
    signed_in.principal = crate::authz::Principal::User {
        id: id.clone(),
        admin: is_admin,
    };
    signed_in.session_id = Some(pair.session_id.to_string());
    let event = signed_in.event("auth.login", "user", &id).build()?;
    app.events.record(&event).await?;
    Ok((get_user(app, &id).await?, pair))
}

/// Trades a refresh token for a new pair (rotation; reuse revokes the session).
pub async fn refresh(
    app: &App,
    ctx: &Ctx,
    refresh_token: &str,
    client: &ClientInfo,
) -> AppResult<TokenPair> {
    super::authorize_platform(app, ctx, "login").await?;
    match app.sessions.refresh(refresh_token, client).await {
        Ok(pair) => {
            let event = ctx
                .event("auth.refreshed", "session", &pair.session_id.to_string())
                .build()?;
            app.events.record(&event).await?;
            Ok(pair)
        }
        Err(e) => {
            app.metrics.auth_failures.inc();
            let reuse = matches!(e, strongroom_session_store::Error::RefreshTokenReused);
            let event = ctx
                .event(
                    if reuse {
                        "auth.refresh.reused"
                    } else {
                        "auth.refresh.failed"
                    },
                    "session",
                    "-",
                )
                .outcome(Outcome::Failure)
                .build()?;
            app.events.record(&event).await?;
            Err(e.into())
        }
    }
}

fn system_time(t: std::time::SystemTime) -> String {
    jiff::Timestamp::try_from(t)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// Ends the calling session.
pub async fn logout(app: &App, ctx: &Ctx) -> AppResult<()> {
    let user = super::authorize_own_account(app, ctx).await?;
    if let Some(sid) = &ctx.session_id {
        let sid =
            SessionId::parse(sid).map_err(|_| AppError::Unauthorized("bad session".into()))?;
        app.sessions.revoke_session(&user, &sid).await?;
    }
    let event = ctx.event("auth.logout", "user", &user).build()?;
    Ok(app.events.record(&event).await?)
}

/// The caller's sessions.
pub async fn sessions(app: &App, ctx: &Ctx) -> AppResult<Vec<SessionView>> {
    let user = super::authorize_own_account(app, ctx).await?;
    let list = app.sessions.sessions(&user).await?;
    Ok(list
        .into_iter()
        .map(|s| SessionView {
            current: ctx.session_id.as_deref() == Some(s.id.to_string().as_str()),
            id: s.id.to_string(),
            device_id: s.device_id.clone(),
            ip: s.ip.map(|i| i.to_string()),
            user_agent: s.user_agent.clone(),
            created_at: system_time(s.created_at),
            last_used_at: system_time(s.last_used_at),
        })
        .collect())
}

/// Revokes one of the caller's sessions.
pub async fn revoke_session(app: &App, ctx: &Ctx, session_id: &str) -> AppResult<()> {
    let user = super::authorize_own_account(app, ctx).await?;
    let sid =
        SessionId::parse(session_id).map_err(|_| AppError::NotFound("no such session".into()))?;
    // Another user's session id is "not found", as if it did not exist.
    app.sessions
        .revoke_session(&user, &sid)
        .await
        .map_err(|e| match e {
            strongroom_session_store::Error::NotFound { .. } => {
                AppError::NotFound("no such session".into())
            }
            other => other.into(),
        })?;
    let event = ctx
        .event("auth.session.revoked", "session", session_id)
        .build()?;
    Ok(app.events.record(&event).await?)
}

/// The caller's profile.
pub async fn profile(app: &App, ctx: &Ctx) -> AppResult<User> {
    let user = super::authorize_own_account(app, ctx).await?;
    get_user(app, &user).await
}

/// Changes the caller's name and/or email.
pub async fn update_profile(
    app: &App,
    ctx: &Ctx,
    name: Option<&str>,
    email: Option<&str>,
) -> AppResult<User> {
    let user = super::authorize_own_account(app, ctx).await?;
    let name = name.map(names::display_name).transpose()?;
    let email = email.map(names::email).transpose()?;
    if name.is_none() && email.is_none() {
        return Err(AppError::Invalid(
            "nothing to change: give name and/or email".into(),
        ));
    }
    let mut event = ctx.event("account.updated", "user", &user);
    if name.is_some() {
        event = event.attr("name", true);
    }
    if email.is_some() {
        event = event.attr("email", true);
    }
    let event = event.build()?;
    let change = UserChange {
        name,
        email,
        ..Default::default()
    };
    app.users.update(&user, &change, app.now(), &event).await?;
    get_user(app, &user).await
}

/// Deletes the caller's account after checking the password: files, folders and links go with
/// it (their blobs are swept), and every session is revoked.
pub async fn delete_account(app: &App, ctx: &Ctx, password: &str) -> AppResult<()> {
    let user = super::authorize_own_account(app, ctx).await?;
    let hash = record(app, &user).await?.password_hash;
    if !verify_password(password.to_owned(), hash).await? {
        app.metrics.auth_failures.inc();
        return Err(AppError::Forbidden {
            detail: "wrong password".into(),
            explanation: None,
        });
    }
    let event = ctx.event("account.deleted", "user", &user).build()?;
    let blob_ids = app.users.delete(&user, &event).await?;
    app.sessions.revoke_all(&user).await?;
    for id in blob_ids {
        // Best effort: the sweeper removes what a crash here leaves behind.
        let _ = app.blobs.delete(&crate::blobs::Blobs::key(&id)).await;
    }
    Ok(())
}

/// Changes the caller's password: the current one confirms it, every other session of the
/// account is revoked (this one stays signed in), and the change is audited.
pub async fn change_password(app: &App, ctx: &Ctx, current: &str, new: &str) -> AppResult<()> {
    let user = super::authorize_own_account(app, ctx).await?;
    names::password(new)?;
    let hash = record(app, &user).await?.password_hash;
    if !verify_password(current.to_owned(), hash).await? {
        app.metrics.auth_failures.inc();
        let event = ctx
            .event("account.password.change_failed", "user", &user)
            .outcome(Outcome::Failure)
            .build()?;
        app.events.record(&event).await?;
        return Err(AppError::Forbidden {
            detail: "the current password is wrong".into(),
            explanation: None,
        });
    }
    set_password(app, ctx, &user, new, "account.password.changed").await?;
    let revoked = match ctx.session_id.as_deref().map(SessionId::parse) {
        Some(Ok(keep)) => app.sessions.revoke_all_except(&user, &keep).await?,
        _ => app.sessions.revoke_all(&user).await?,
    };
    tracing::info!(user = %user, sessions_revoked = revoked, "password changed");
    Ok(())
}

async fn set_password(app: &App, ctx: &Ctx, user: &str, new: &str, action: &str) -> AppResult<()> {
    let change = UserChange {
        password_hash: Some(hash_password(new.to_owned()).await?),
        ..Default::default()
    };
    let event = ctx.event(action, "user", user).build()?;
    app.users.update(user, &change, app.now(), &event).await?;
    Ok(())
}

/// Every account, by email (administrators).
pub async fn list_users(app: &App, ctx: &Ctx) -> AppResult<Vec<User>> {
    super::authorize_platform(app, ctx, "administer").await?;
    Ok(app
        .users
        .list(10_000)
        .await?
        .into_iter()
        .map(view)
        .collect())
}

/// Disables or enables an account (administrators). Disabling signs it out everywhere, refuses
/// its logins, and suspends the links and shares it made; enabling lifts all of that but the
/// sessions, which stay ended.
pub async fn set_disabled(app: &App, ctx: &Ctx, id: &str, disabled: bool) -> AppResult<User> {
    super::authorize_platform(app, ctx, "administer").await?;
    let id = names::id(id)?;
    if disabled && ctx.principal.user_id() == Some(id.as_str()) {
        return Err(AppError::Invalid(
            "administrators cannot disable their own account".into(),
        ));
    }
    let event = ctx
        .event(
            if disabled {
                "account.disabled"
            } else {
                "account.enabled"
            },
            "user",
            &id,
        )
        .build()?;
    let now = app.now();
    let change = UserChange {
        disabled_at: Some(disabled.then_some(now)),
        ..Default::default()
    };
    app.users.update(&id, &change, now, &event).await?;
    if disabled {
        app.sessions.revoke_all(&id).await?;
    }
    get_user(app, &id).await
}

/// Sets a new random password on an account and signs it out everywhere (administrators);
/// returns the password, shown once.
pub async fn reset_password(app: &App, ctx: &Ctx, id: &str) -> AppResult<String> {
    super::authorize_platform(app, ctx, "administer").await?;
    let id = names::id(id)?;
    let password = crate::token::random_token("", 18);
    set_password(app, ctx, &id, &password, "account.password.reset").await?;
    app.sessions.revoke_all(&id).await?;
    Ok(password)
}
