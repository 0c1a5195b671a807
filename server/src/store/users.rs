//! Accounts: the `users` table.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::Result;

/// An account as stored (times in microseconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// User id.
    pub id: String,
    /// E-mail, unique, normalized by the caller.
    pub email: String,
    /// Display name.
    pub name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Administrator.
    pub is_admin: bool,
    /// Disabled since then, if it is.
    pub disabled_at: Option<i64>,
    /// Created.
    pub created_at: i64,
    /// Last changed.
    pub updated_at: i64,
    /// Quota overrides (`None` limits: the operator's defaults).
    pub quota: super::Quota,
    /// Tags and custom field values, as administrators set them.
    pub attributes: crate::attributes::UserAttributes,
}

/// How an account is looked up.
#[derive(Debug, Clone, Copy)]
pub enum UserKey<'a> {
    /// By id.
    Id(&'a str),
    /// By (normalized) e-mail.
    Email(&'a str),
}

/// Which accounts to list: by e-mail, after `after`, at most `limit`.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserQuery<'a> {
    /// Only accounts whose e-mail or name contains this (case-insensitive).
    pub text: Option<&'a str>,
    /// Only accounts whose e-mail sorts after this one (the previous page's last).
    pub after: Option<&'a str>,
    /// At most this many.
    pub limit: usize,
}

/// What a change to an account sets; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    /// New display name.
    pub name: Option<String>,
    /// New e-mail.
    pub email: Option<String>,
    /// New password hash.
    pub password_hash: Option<String>,
    /// `Some(Some(t))` disables since `t`, `Some(None)` enables.
    pub disabled_at: Option<Option<i64>>,
    /// `Some(q)` sets the account's quota overrides (a `None` limit: the default).
    pub quota: Option<super::Quota>,
    /// `Some(true)` makes the account an administrator, `Some(false)` no longer one.
    pub is_admin: Option<bool>,
    /// `Some(a)` replaces the account's tags and field values (checked by the caller).
    pub attributes: Option<crate::attributes::UserAttributes>,
}

/// The `users` table.
///
/// Contract (checked by [`super::conformance`]): e-mails are unique (`Conflict` naming the
/// e-mail, on create and on change); `update` of a missing account is `NotFound`; every write
/// records its event in the same transaction, and a refused write records none; `delete`
/// removes the account with what it owned and handed out (its files, folders, their links and
/// shares, the links it made on others' files, the shares it gave and held) and returns the
/// blob keys of its files' versions, to remove after the commit.
#[async_trait]
pub trait UserStore: Debug + Send + Sync + 'static {
    /// Creates an account, with its event.
    async fn create(&self, user: &UserRecord, event: &AuditEvent) -> Result<()>;
    /// One account.
    async fn get(&self, key: UserKey<'_>) -> Result<Option<UserRecord>>;
    /// How many accounts exist.
    async fn count(&self) -> Result<u64>;
    /// Accounts matching `query`, by e-mail.
    async fn list(&self, query: &UserQuery<'_>) -> Result<Vec<UserRecord>>;
    /// Changes an account at `at`, with its event.
    async fn update(
        &self,
        id: &str,
        change: &UserChange,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()>;
    /// Deletes an account and everything it owned or handed out, with its event; the blob keys
    /// of its files' versions.
    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<Vec<String>>;
}

/// A user store behind a pointer.
pub type DynUserStore = dyn UserStore;

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: UserStore + ?Sized> UserStore for Arc<T> {
    async fn create(&self, user: &UserRecord, event: &AuditEvent) -> Result<()> {
        (**self).create(user, event).await
    }
    async fn get(&self, key: UserKey<'_>) -> Result<Option<UserRecord>> {
        (**self).get(key).await
    }
    async fn count(&self) -> Result<u64> {
        (**self).count().await
    }
    async fn list(&self, query: &UserQuery<'_>) -> Result<Vec<UserRecord>> {
        (**self).list(query).await
    }
    async fn update(
        &self,
        id: &str,
        change: &UserChange,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        (**self).update(id, change, at, event).await
    }
    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<Vec<String>> {
        (**self).delete(id, event).await
    }
}
