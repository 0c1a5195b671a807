//! Accounts: registration, login (argon2id), sessions (session-store), profile, deletion.

use std::sync::{Arc, OnceLock};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use serde::Serialize;
use strongroom_audit::Outcome;
use strongroom_session_store::{ClientInfo, Login, SessionId, SessionManager, TokenPair};
use utoipa::ToSchema;

use super::{Ctx, Guard, names, rfc3339};
use crate::blobs::Blobs;
use crate::error::{Error, Result};
use crate::store::{DynUserStore, UserChange, UserKey, UserRecord};

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
    /// Tags and custom field values (set by administrators; policies read them).
    pub attributes: crate::attributes::UserAttributes,
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
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("argon2: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(format!("argon2 thread: {e}")))?
}

/// Checks `password` against a PHC hash on a blocking thread; the comparison is constant-time.
pub async fn verify_password(password: String, hash: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed =
            PasswordHash::new(&hash).map_err(|e| Error::Internal(format!("stored hash: {e}")))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| Error::Internal(format!("argon2 thread: {e}")))?
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
        attributes: u.attributes,
    }
}

/// Accounts: registration, sign-in, sessions, profiles, administration.
#[derive(Debug, Clone)]
pub struct Accounts {
    store: Arc<DynUserStore>,
    sessions: Arc<SessionManager>,
    blobs: Blobs,
    guard: Guard,
    fields: crate::attributes::UserFields,
    lockout: Option<super::lockout::Lockout>,
}

impl Accounts {
    /// Over the account store and the session manager; `blobs` is where a deleted account's
    /// files are removed from.
    pub fn new(
        store: Arc<DynUserStore>,
        sessions: Arc<SessionManager>,
        blobs: Blobs,
        guard: Guard,
    ) -> Accounts {
        Accounts {
            store,
            sessions,
            blobs,
            guard,
            fields: crate::attributes::UserFields::default(),
            lockout: None,
        }
    }

    /// Counts failed sign-ins and refuses attempts as `lockout` says (without it, nothing is
    /// counted).
    pub fn with_lockout(mut self, lockout: super::lockout::Lockout) -> Accounts {
        self.lockout = Some(lockout);
        self
    }

    async fn record(&self, id: &str) -> Result<UserRecord> {
        self.store
            .get(UserKey::Id(id))
            .await?
            .ok_or_else(|| Error::NotFound("no such user".into()))
    }

    /// Loads a user by id.
    pub async fn get_user(&self, id: &str) -> Result<User> {
        Ok(view(self.record(id).await?))
    }

    /// The user `id` as a policy principal, if the account exists and is not disabled (links and
    /// shares a user made grant only while this holds).
    pub async fn active_principal(&self, id: &str) -> Result<Option<crate::authz::Principal>> {
        Ok(self
            .store
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
    pub async fn register(&self, ctx: &Ctx, email: &str, name: &str, password: &str) -> Result<()> {
        self.guard.authorize_platform(ctx, "register").await?;
        let email = names::email(email)?;
        let name = names::display_name(name)?;
        names::password(password)?;
        match self.create_user(ctx, &email, &name, password, false).await {
            Ok(_) => Ok(()),
            Err(Error::Conflict(_)) => {
                let event = ctx
                    .event("account.register.duplicate", "user", "-")
                    .outcome(Outcome::Failure)
                    .build()?;
                Ok(self.guard.record(&event).await?)
            }
            Err(e) => Err(e),
        }
    }

    /// Creates a user row (no authorization: callers decide).
    pub async fn create_user(
        &self,
        ctx: &Ctx,
        email: &str,
        name: &str,
        password: &str,
        is_admin: bool,
    ) -> Result<User> {
        let hash = hash_password(password.to_owned()).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = self.guard.now();
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
            quota: crate::store::Quota::NONE,
            attributes: Default::default(),
        };
        self.store.create(&user, &event).await?;
        self.get_user(&id).await
    }

    /// Creates the first administrator if there are no users yet; returns the password to print.
    pub async fn bootstrap_admin(&self) -> Result<Option<(String, String)>> {
        if self.store.count().await? > 0 {
            return Ok(None);
        }
        let password = crate::token::random_token("", 18);
        let email = "admin@strongroom.local";
        match self
            .create_user(
                &self.guard.system_ctx(),
                email,
                "Administrator",
                &password,
                true,
            )
            .await
        {
            Ok(_) => Ok(Some((email.to_owned(), password))),
            // Another process bootstrapped first.
            Err(Error::Conflict(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Signs in with email and password.
    pub async fn login(
        &self,
        ctx: &Ctx,
        email: &str,
        password: &str,
        client: ClientInfo,
    ) -> Result<(User, TokenPair)> {
        self.guard.authorize_platform(ctx, "login").await?;
        let email_norm = names::email(email).unwrap_or_default();
        let row = self.store.get(UserKey::Email(&email_norm)).await?;
        // Counted before the password is checked, so that racing guesses are counted too.
        let attempt = match &self.lockout {
            Some(l) => Some(
                l.admit(ctx, &email_norm, row.as_ref().map(|u| u.id.as_str()))
                    .await?,
            ),
            None => None,
        };
        let (hash, found) = match &row {
            Some(u) => (u.password_hash.clone(), true),
            None => (decoy_hash().to_owned(), false),
        };
        // A disabled account answers like a wrong password (after the same hash work).
        let ok = verify_password(password.to_owned(), hash).await?
            && found
            && row.as_ref().is_some_and(|u| u.disabled_at.is_none());
        let Some(UserRecord { id, is_admin, .. }) = row.clone().filter(|_| ok) else {
            self.guard.metrics.auth_failures.inc();
            let failures = attempt.as_ref().map_or(0, |a| a.n);
            if let (Some(l), Some(a)) = (&self.lockout, attempt) {
                l.failed(ctx, a).await?;
            }
            // The targeted account is named (its id when it exists, the address tried either
            // way), so that attacks on one account show in its audit trail; never the password.
            let target = row.as_ref().map_or("-", |u| u.id.as_str());
            let event = ctx
                .event("auth.login.failed", "user", target)
                .attr("email", email_norm.as_str())
                .attr("known", found)
                .attr("failures", failures)
                .outcome(Outcome::Failure)
                .build()?;
            self.guard.record(&event).await?;
            return Err(Error::Unauthorized("wrong email or password".into()));
        };
        if let (Some(l), Some(a)) = (&self.lockout, attempt) {
            l.succeeded(a).await?;
        }
        let roles: Vec<&str> = if is_admin { vec!["admin"] } else { vec![] };
        let pair = self
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
        self.guard.record(&event).await?;
        Ok((self.get_user(&id).await?, pair))
    }

    /// Trades a refresh token for a new pair (rotation; reuse revokes the session).
    pub async fn refresh(
        &self,
        ctx: &Ctx,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair> {
        self.guard.authorize_platform(ctx, "login").await?;
        match self.sessions.refresh(refresh_token, client).await {
            Ok(pair) => {
                let event = ctx
                    .event("auth.refreshed", "session", &pair.session_id.to_string())
                    .build()?;
                self.guard.record(&event).await?;
                Ok(pair)
            }
            Err(e) => {
                self.guard.metrics.auth_failures.inc();
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
                self.guard.record(&event).await?;
                Err(e.into())
            }
        }
    }

    /// Ends the calling session.
    pub async fn logout(&self, ctx: &Ctx) -> Result<()> {
        let user = self.guard.authorize_own_account(ctx).await?;
        if let Some(sid) = &ctx.session_id {
            let sid =
                SessionId::parse(sid).map_err(|_| Error::Unauthorized("bad session".into()))?;
            self.sessions.revoke_session(&user, &sid).await?;
        }
        let event = ctx.event("auth.logout", "user", &user).build()?;
        self.guard.record(&event).await
    }

    /// The caller's sessions.
    pub async fn sessions(&self, ctx: &Ctx) -> Result<Vec<SessionView>> {
        let user = self.guard.authorize_own_account(ctx).await?;
        let list = self.sessions.sessions(&user).await?;
        Ok(list
            .into_iter()
            .map(|s| session_view(&s, ctx.session_id.as_deref()))
            .collect())
    }

    /// Revokes one of the caller's sessions.
    pub async fn revoke_session(&self, ctx: &Ctx, session_id: &str) -> Result<()> {
        let user = self.guard.authorize_own_account(ctx).await?;
        let sid =
            SessionId::parse(session_id).map_err(|_| Error::NotFound("no such session".into()))?;
        // Another user's session id is "not found", as if it did not exist.
        self.sessions
            .revoke_session(&user, &sid)
            .await
            .map_err(|e| match e {
                strongroom_session_store::Error::NotFound { .. } => {
                    Error::NotFound("no such session".into())
                }
                other => other.into(),
            })?;
        let event = ctx
            .event("auth.session.revoked", "session", session_id)
            .build()?;
        self.guard.record(&event).await
    }

    /// The caller's profile.
    pub async fn profile(&self, ctx: &Ctx) -> Result<User> {
        let user = self.guard.authorize_own_account(ctx).await?;
        self.get_user(&user).await
    }

    /// Changes the caller's name and/or email.
    pub async fn update_profile(
        &self,
        ctx: &Ctx,
        name: Option<&str>,
        email: Option<&str>,
    ) -> Result<User> {
        let user = self.guard.authorize_own_account(ctx).await?;
        let name = name.map(names::display_name).transpose()?;
        let email = email.map(names::email).transpose()?;
        if name.is_none() && email.is_none() {
            return Err(Error::Invalid(
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
        self.store
            .update(&user, &change, self.guard.now(), &event)
            .await?;
        self.get_user(&user).await
    }

    /// Deletes the caller's account after checking the password: files, folders and links go with
    /// it (their blobs are swept), and every session is revoked.
    pub async fn delete_account(&self, ctx: &Ctx, password: &str) -> Result<()> {
        let user = self.guard.authorize_own_account(ctx).await?;
        let hash = self.record(&user).await?.password_hash;
        if !verify_password(password.to_owned(), hash).await? {
            self.guard.metrics.auth_failures.inc();
            return Err(Error::Forbidden {
                detail: "wrong password".into(),
                explanation: None,
            });
        }
        let event = ctx.event("account.deleted", "user", &user).build()?;
        let blobs = self.store.delete(&user, &event).await?;
        self.sessions.revoke_all(&user).await?;
        for key in blobs {
            // Best effort: the sweeper removes what a crash here leaves behind.
            let _ = self
                .blobs
                .delete(&object_store::path::Path::from(key))
                .await;
        }
        Ok(())
    }

    /// Changes the caller's password: the current one confirms it, every other session of the
    /// account is revoked (this one stays signed in), and the change is audited.
    pub async fn change_password(&self, ctx: &Ctx, current: &str, new: &str) -> Result<()> {
        let user = self.guard.authorize_own_account(ctx).await?;
        names::password(new)?;
        let hash = self.record(&user).await?.password_hash;
        if !verify_password(current.to_owned(), hash).await? {
            self.guard.metrics.auth_failures.inc();
            let event = ctx
                .event("account.password.change_failed", "user", &user)
                .outcome(Outcome::Failure)
                .build()?;
            self.guard.record(&event).await?;
            return Err(Error::Forbidden {
                detail: "the current password is wrong".into(),
                explanation: None,
            });
        }
        self.set_password(ctx, &user, new, "account.password.changed")
            .await?;
        let revoked = match ctx.session_id.as_deref().map(SessionId::parse) {
            Some(Ok(keep)) => self.sessions.revoke_all_except(&user, &keep).await?,
            _ => self.sessions.revoke_all(&user).await?,
        };
        tracing::info!(user = %user, sessions_revoked = revoked, "password changed");
        Ok(())
    }

    async fn set_password(&self, ctx: &Ctx, user: &str, new: &str, action: &str) -> Result<()> {
        let change = UserChange {
            password_hash: Some(hash_password(new.to_owned()).await?),
            ..Default::default()
        };
        let event = ctx.event(action, "user", user).build()?;
        self.store
            .update(user, &change, self.guard.now(), &event)
            .await?;
        Ok(())
    }

    /// Accounts by e-mail (administrators): those whose e-mail or name contains `text`
    /// (case-insensitive), after the e-mail `after`, at most `limit` (1 to 1000).
    pub async fn list_users(
        &self,
        ctx: &Ctx,
        text: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<User>> {
        self.guard.authorize_platform(ctx, "administer").await?;
        if !(1..=1000).contains(&limit) {
            return Err(Error::BadRequest("limit is 1 to 1000".into()));
        }
        if text.is_some_and(|t| t.is_empty() || t.chars().count() > 200) {
            return Err(Error::BadRequest("q is 1 to 200 characters".into()));
        }
        let query = crate::store::UserQuery { text, after, limit };
        Ok(self
            .store
            .list(&query)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    /// Makes an account an administrator or no longer one (administrators; not oneself). The
    /// account is signed out everywhere either way, so no token keeps a role it lost, and the
    /// next sign-in carries the new one.
    pub async fn set_admin(&self, ctx: &Ctx, id: &str, admin: bool) -> Result<User> {
        self.guard.authorize_platform(ctx, "administer").await?;
        let id = names::id(id)?;
        if ctx.principal.user_id() == Some(id.as_str()) {
            return Err(Error::Invalid(
                "administrators cannot change their own administrator role".into(),
            ));
        }
        let action = if admin {
            "account.admin_granted"
        } else {
            "account.admin_revoked"
        };
        let event = ctx.event(action, "user", &id).build()?;
        let change = UserChange {
            is_admin: Some(admin),
            ..Default::default()
        };
        match self
            .store
            .update(&id, &change, self.guard.now(), &event)
            .await
        {
            Err(crate::store::Error::NotFound) => Err(Error::NotFound("no such user".into())),
            other => other.map_err(Error::from),
        }?;
        self.sessions.revoke_all(&id).await?;
        self.get_user(&id).await
    }

    /// Knowing the custom fields the operator declared (`[attributes]`).
    pub fn with_fields(mut self, fields: crate::attributes::UserFields) -> Accounts {
        self.fields = fields;
        self
    }

    /// Replaces an account's tags and custom field values (administrators); each value is
    /// checked against its declared type. Policies see them from the next request on.
    pub async fn set_attributes(
        &self,
        ctx: &Ctx,
        id: &str,
        attributes: &crate::attributes::UserAttributes,
    ) -> Result<User> {
        self.guard.authorize_platform(ctx, "administer").await?;
        let id = names::id(id).map_err(|_| Error::NotFound("no such user".into()))?;
        let attributes = self.fields.validate(attributes).map_err(Error::Invalid)?;
        let event = ctx
            .event("account.attributes_set", "user", &id)
            .attr("tags", serde_json::json!(attributes.tags))
            .attr(
                "fields",
                serde_json::json!(attributes.fields.keys().collect::<Vec<_>>()),
            )
            .build()?;
        let change = UserChange {
            attributes: Some(attributes),
            ..Default::default()
        };
        match self
            .store
            .update(&id, &change, self.guard.now(), &event)
            .await
        {
            Err(crate::store::Error::NotFound) => Err(Error::NotFound("no such user".into())),
            other => other.map_err(Error::from),
        }?;
        self.get_user(&id).await
    }

    /// An account's sessions (administrators).
    pub async fn user_sessions(&self, ctx: &Ctx, id: &str) -> Result<Vec<SessionView>> {
        self.guard.authorize_platform(ctx, "administer").await?;
        let id = names::id(id)?;
        self.get_user(&id).await?;
        let list = self.sessions.sessions(&id).await?;
        let event = ctx.event("account.sessions_viewed", "user", &id).build()?;
        self.guard.record(&event).await?;
        Ok(list.into_iter().map(|s| session_view(&s, None)).collect())
    }

    /// Ends one of an account's sessions, or all of them (`None`) (administrators).
    pub async fn revoke_user_sessions(
        &self,
        ctx: &Ctx,
        id: &str,
        session: Option<&str>,
    ) -> Result<()> {
        self.guard.authorize_platform(ctx, "administer").await?;
        let id = names::id(id)?;
        self.get_user(&id).await?;
        match session {
            None => {
                self.sessions.revoke_all(&id).await?;
            }
            Some(sid) => {
                let sid =
                    SessionId::parse(sid).map_err(|_| Error::NotFound("no such session".into()))?;
                self.sessions
                    .revoke_session(&id, &sid)
                    .await
                    .map_err(|e| match e {
                        strongroom_session_store::Error::NotFound { .. } => {
                            Error::NotFound("no such session".into())
                        }
                        other => other.into(),
                    })?;
            }
        }
        let mut draft = ctx.event("account.sessions_revoked", "user", &id);
        if let Some(sid) = session {
            draft = draft.attr("session", sid);
        }
        self.guard.record(&draft.build()?).await
    }

    /// Disables or enables an account (administrators). Disabling signs it out everywhere, refuses
    /// its logins, and suspends the links and shares it made; enabling lifts all of that but the
    /// sessions, which stay ended.
    pub async fn set_disabled(&self, ctx: &Ctx, id: &str, disabled: bool) -> Result<User> {
        self.guard.authorize_platform(ctx, "administer").await?;
        let id = names::id(id)?;
        if disabled && ctx.principal.user_id() == Some(id.as_str()) {
            return Err(Error::Invalid(
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
        let now = self.guard.now();
        let change = UserChange {
            disabled_at: Some(disabled.then_some(now)),
            ..Default::default()
        };
        self.store.update(&id, &change, now, &event).await?;
        if disabled {
            self.sessions.revoke_all(&id).await?;
        }
        self.get_user(&id).await
    }

    /// Sets an account's quota overrides (administrators); a `null` limit falls back to the
    /// operator's default.
    pub async fn set_quota(
        &self,
        ctx: &Ctx,
        id: &str,
        change: &super::usage::QuotaChange,
    ) -> Result<User> {
        self.guard.authorize_platform(ctx, "administer").await?;
        let id = names::id(id)?;
        let event = ctx
            .event("account.quota_set", "user", &id)
            .attr("bytes", change.bytes)
            .attr("files", change.files)
            .build()?;
        let now = self.guard.now();
        let update = UserChange {
            quota: Some(crate::store::Quota {
                bytes: change.bytes,
                files: change.files,
            }),
            ..Default::default()
        };
        match self.store.update(&id, &update, now, &event).await {
            Err(crate::store::Error::NotFound) => Err(Error::NotFound("no such user".into())),
            other => other.map_err(Error::from),
        }?;
        self.get_user(&id).await
    }

    /// Sets a new random password on an account, signs it out everywhere and lifts a sign-in
    /// lock (administrators); returns the password, shown once.
    pub async fn reset_password(&self, ctx: &Ctx, id: &str) -> Result<String> {
        self.guard.authorize_platform(ctx, "administer").await?;
        let id = names::id(id)?;
        let password = crate::token::random_token("", 18);
        self.set_password(ctx, &id, &password, "account.password.reset")
            .await?;
        self.sessions.revoke_all(&id).await?;
        // A new password lifts a lock on the old one.
        if let Some(l) = &self.lockout {
            l.clear(&id).await?;
        }
        Ok(password)
    }
}

fn session_view(s: &strongroom_session_store::Session, current: Option<&str>) -> SessionView {
    let id = s.id.to_string();
    SessionView {
        current: current == Some(id.as_str()),
        id,
        device_id: s.device_id.clone(),
        ip: s.ip.map(|i| i.to_string()),
        user_agent: s.user_agent.clone(),
        created_at: system_time(s.created_at),
        last_used_at: system_time(s.last_used_at),
    }
}

fn system_time(t: std::time::SystemTime) -> String {
    jiff::Timestamp::try_from(t)
        .map(|t| t.to_string())
        .unwrap_or_default()
}
