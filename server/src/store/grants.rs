//! Shares: a role on a file or folder held by a user or a group, maybe until an expiry (the
//! `shares` table).

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::Result;

/// Who holds a share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Holder<'a> {
    /// A user, by id.
    User(&'a str),
    /// A group (and so everyone in it, directly or through nested groups), by id.
    Group(&'a str),
}

impl<'a> Holder<'a> {
    /// `user` or `group`, as stored.
    pub fn kind(self) -> &'static str {
        match self {
            Holder::User(_) => "user",
            Holder::Group(_) => "group",
        }
    }

    /// The user or group id.
    pub fn id(self) -> &'a str {
        match self {
            Holder::User(id) | Holder::Group(id) => id,
        }
    }

    /// From the stored kind and id; `None` for an unknown kind.
    pub fn parse(kind: &str, id: &'a str) -> Option<Holder<'a>> {
        match kind {
            "user" => Some(Holder::User(id)),
            "group" => Some(Holder::Group(id)),
            _ => None,
        }
    }
}

/// A share as its sharer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    /// `file` or `folder`.
    pub resource_kind: String,
    /// File or folder id.
    pub resource_id: String,
    /// `user` or `group`.
    pub holder_kind: String,
    /// The user or group id.
    pub holder_id: String,
    /// The user's e-mail or the group's name.
    pub holder_name: String,
    /// `viewer`, `commenter` or `editor`.
    pub role: String,
    /// Who shared it.
    pub granted_by: String,
    /// When (microseconds since the epoch).
    pub created_at: i64,
    /// When it stops granting, if it does.
    pub expires_at: Option<i64>,
}

/// A role held on a node, for policy decisions, with the sharer's standing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldRole {
    /// The file or folder.
    pub node_id: String,
    /// `user` or `group`.
    pub holder_kind: String,
    /// The user or group id.
    pub holder_id: String,
    /// The role.
    pub role: String,
    /// Who shared it.
    pub granted_by: String,
    /// The sharer while their account exists and is enabled: whether they are an administrator.
    pub granter_admin: Option<bool>,
    /// When it stops granting, if it does.
    pub expires_at: Option<i64>,
}

/// What a decision on some nodes needs: the roles held on them, and the groups (direct and
/// through nested groups), team roles and attributes of the principals asked about and of
/// every sharer among those roles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// Roles held directly on the nodes, expired ones included.
    pub roles: Vec<HeldRole>,
    /// `(user id, group id)`: the user is in the group, directly or through nested groups.
    pub memberships: Vec<(String, String)>,
    /// `(user id, team id, role)`: the user's role in a team.
    pub team_roles: Vec<(String, String, String)>,
    /// The tags and field values of the principals and sharers, by user id.
    pub attributes: Vec<(String, crate::attributes::UserAttributes)>,
}

/// Which shares to list.
#[derive(Debug, Clone, Copy)]
pub enum Shares<'a> {
    /// On one file or folder (`kind`, `id`), users by e-mail then groups by name.
    On(&'a str, &'a str),
    /// Held by one user, directly or through a group they are in; newest first, at most 1000.
    HeldBy(&'a str),
    /// Given by one user; newest first, at most 1000.
    GivenBy(&'a str),
}

/// A new share.
#[derive(Debug, Clone)]
pub struct NewGrant<'a> {
    /// `file` or `folder`.
    pub resource_kind: &'a str,
    /// File or folder id.
    pub resource_id: &'a str,
    /// Who gets the role.
    pub holder: Holder<'a>,
    /// The role.
    pub role: &'a str,
    /// Who shares it.
    pub granted_by: &'a str,
    /// When.
    pub at: i64,
    /// When it stops granting (`None`: until revoked).
    pub expires_at: Option<i64>,
}

/// The `shares` table.
///
/// Contract (checked by [`super::conformance`]): `put` gives a holder a role on a node,
/// replacing the role, sharer and expiry they had there (keeping the first time), with its
/// event, atomically, and `NotFound` when the user or group does not exist; `list` joins the
/// holder's e-mail or group name; `access` returns every role held directly on the given nodes,
/// with the sharer's standing (`None` once their account is deleted or disabled), plus the
/// group memberships (transitive) of the principals and sharers; `remove` takes a role away with
/// its event and says false (recording nothing) when there was none; `due_expiries` lists shares
/// expired at `now` whose expiry has not been noted, and `note_expiry` notes one with its event,
/// once.
#[async_trait]
pub trait GrantStore: Debug + Send + Sync + 'static {
    /// Gives (or replaces) a role, with its event.
    async fn put(&self, grant: &NewGrant<'_>, event: &AuditEvent) -> Result<()>;
    /// Shares on a node, held by a user or given by one.
    async fn list(&self, which: Shares<'_>) -> Result<Vec<GrantRecord>>;
    /// Roles on these nodes and the group memberships and team roles of `principals` and of the
    /// sharers (one round trip).
    async fn access(&self, principals: &[&str], node_ids: &[&str]) -> Result<Access>;
    /// Takes a role away, with its event; false when there was none.
    async fn remove(
        &self,
        kind: &str,
        id: &str,
        holder: Holder<'_>,
        event: &AuditEvent,
    ) -> Result<bool>;
    /// Shares expired at `now` whose expiry is not noted yet, oldest expiry first.
    async fn due_expiries(&self, now: i64, limit: usize) -> Result<Vec<GrantRecord>>;
    /// Notes that this share (still expiring at `expires_at`) expired, with its event; false
    /// (recording nothing) when it is gone, changed or already noted.
    async fn note_expiry(&self, share: &GrantRecord, at: i64, event: &AuditEvent) -> Result<bool>;
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
    async fn access(&self, principals: &[&str], node_ids: &[&str]) -> Result<Access> {
        (**self).access(principals, node_ids).await
    }
    async fn remove(
        &self,
        kind: &str,
        id: &str,
        holder: Holder<'_>,
        event: &AuditEvent,
    ) -> Result<bool> {
        (**self).remove(kind, id, holder, event).await
    }
    async fn due_expiries(&self, now: i64, limit: usize) -> Result<Vec<GrantRecord>> {
        (**self).due_expiries(now, limit).await
    }
    async fn note_expiry(&self, share: &GrantRecord, at: i64, event: &AuditEvent) -> Result<bool> {
        (**self).note_expiry(share, at, event).await
    }
}
