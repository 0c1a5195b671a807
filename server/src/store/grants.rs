//! Shares with named users: the `grants` table.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::Result;

/// A share as its sharer sees it (with the holder's e-mail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    /// `file` or `folder`.
    pub resource_kind: String,
    /// File or folder id.
    pub resource_id: String,
    /// The user holding the role.
    pub user_id: String,
    /// Their e-mail.
    pub email: String,
    /// `viewer`, `commenter` or `editor`.
    pub role: String,
    /// Who shared it.
    pub granted_by: String,
    /// When (microseconds since the epoch).
    pub created_at: i64,
}

/// A role held on a node, for policy decisions, with the sharer's standing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldRole {
    /// The file or folder.
    pub node_id: String,
    /// The user holding the role.
    pub user_id: String,
    /// The role.
    pub role: String,
    /// Who shared it.
    pub granted_by: String,
    /// The sharer while their account exists and is enabled: whether they are an administrator.
    pub granter_admin: Option<bool>,
}

/// Which shares to list.
#[derive(Debug, Clone, Copy)]
pub enum Shares<'a> {
    /// On one file or folder (`kind`, `id`), by e-mail.
    On(&'a str, &'a str),
    /// Held by one user, newest first, at most 1000.
    HeldBy(&'a str),
}

/// A new share.
#[derive(Debug, Clone)]
pub struct NewGrant<'a> {
    /// `file` or `folder`.
    pub resource_kind: &'a str,
    /// File or folder id.
    pub resource_id: &'a str,
    /// Who gets the role.
    pub user_id: &'a str,
    /// The role.
    pub role: &'a str,
    /// Who shares it.
    pub granted_by: &'a str,
    /// When.
    pub at: i64,
}

/// The `grants` table.
///
/// Contract (checked by [`super::conformance`]): `put` gives a user a role on a node, replacing
/// the role (and sharer) they had there, with its event, atomically; `list` joins the holder's
/// e-mail; `roles_on` returns every role held directly on the given nodes, with the sharer's
/// standing (`None` once their account is deleted or disabled); `remove` takes a role away with
/// its event and says false (recording nothing) when there was none.
#[async_trait]
pub trait GrantStore: Debug + Send + Sync + 'static {
    /// Gives (or replaces) a role, with its event.
    async fn put(&self, grant: &NewGrant<'_>, event: &AuditEvent) -> Result<()>;
    /// Shares on a node or held by a user.
    async fn list(&self, which: Shares<'_>) -> Result<Vec<GrantRecord>>;
    /// Roles held directly on these nodes (one round trip).
    async fn roles_on(&self, node_ids: &[&str]) -> Result<Vec<HeldRole>>;
    /// Takes a role away, with its event; false when there was none.
    async fn remove(&self, kind: &str, id: &str, user_id: &str, event: &AuditEvent)
    -> Result<bool>;
}

/// A grant store behind a pointer.
pub type DynGrantStore = dyn GrantStore;

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: GrantStore + ?Sized> GrantStore for Arc<T> {
    async fn put(&self, grant: &NewGrant<'_>, event: &AuditEvent) -> Result<()> {
        (**self).put(grant, event).await
    }
    async fn list(&self, which: Shares<'_>) -> Result<Vec<GrantRecord>> {
        (**self).list(which).await
    }
    async fn roles_on(&self, node_ids: &[&str]) -> Result<Vec<HeldRole>> {
        (**self).roles_on(node_ids).await
    }
    async fn remove(
        &self,
        kind: &str,
        id: &str,
        user_id: &str,
        event: &AuditEvent,
    ) -> Result<bool> {
        (**self).remove(kind, id, user_id, event).await
    }
}
