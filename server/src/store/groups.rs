//! Groups: named sets of users and of other groups (the `user_groups` and `group_members`
//! tables).

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::Result;
use super::grants::Holder;

/// A group as stored (times in microseconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    /// The id policies name (`Group::"<id>"`); never changes.
    pub id: String,
    /// The team whose admins manage it; `None` for a platform-wide group.
    pub team_id: Option<String>,
    /// Display name.
    pub name: String,
    /// What the group is for.
    pub description: String,
    /// Who created it.
    pub created_by: String,
    /// Created.
    pub created_at: i64,
    /// Last changed.
    pub updated_at: i64,
}

/// A member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    /// `user` or `group`.
    pub kind: String,
    /// The user or group id.
    pub id: String,
    /// The user's e-mail or the group's name.
    pub name: String,
    /// Who added it.
    pub added_by: String,
    /// When.
    pub added_at: i64,
}

/// The groups tables.
///
/// Contract (checked by [`super::conformance`]): ids are unique (`Conflict`); `update` and
/// `delete` of a missing group are `NotFound`; `delete` removes the group's memberships (its own
/// and as a member of others) and the shares it held; `add_member` is `NotFound` when the group
/// or the member does not exist, `Invalid` when a group would end up inside itself or the
/// member is outside the group's scope ([`GROUP_SCOPE`](super::GROUP_SCOPE): a team group takes
/// members of its team and groups of the same team, a platform group platform groups), and false
/// (recording nothing) when the member was there already; `remove_member` says false (recording
/// nothing) when there was no such member; `groups_of` is every group a user is in, directly or
/// through nested groups, by id. Every write records its event in the same transaction.
#[async_trait]
pub trait GroupStore: Debug + Send + Sync + 'static {
    /// Creates a group, with its event.
    async fn create(&self, group: &GroupRecord, event: &AuditEvent) -> Result<()>;
    /// One group.
    async fn get(&self, id: &str) -> Result<Option<GroupRecord>>;
    /// The groups of `team` (`None`: the platform-wide ones) by id after `after`, at most
    /// `limit`.
    async fn list(
        &self,
        team: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<GroupRecord>>;
    /// Renames or re-describes a group at `at`, with its event.
    async fn update(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()>;
    /// Deletes a group with its memberships and shares, with its event.
    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<()>;
    /// Adds a user or a group to a group, with its event; false when it was a member already.
    async fn add_member(
        &self,
        group: &str,
        member: Holder<'_>,
        added_by: &str,
        at: i64,
        event: &AuditEvent,
    ) -> Result<bool>;
    /// Removes a member, with its event; false when it was none.
    async fn remove_member(
        &self,
        group: &str,
        member: Holder<'_>,
        event: &AuditEvent,
    ) -> Result<bool>;
    /// The direct members of a group: users by e-mail, then groups by id.
    async fn members(&self, group: &str) -> Result<Vec<MemberRecord>>;
    /// Every group `user` is in, directly or through nested groups, by id.
    async fn groups_of(&self, user: &str) -> Result<Vec<GroupRecord>>;
}

/// A group store behind a pointer.
pub type DynGroupStore = dyn GroupStore;

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: GroupStore + ?Sized> GroupStore for Arc<T> {
    async fn create(&self, group: &GroupRecord, event: &AuditEvent) -> Result<()> {
        (**self).create(group, event).await
    }
    async fn get(&self, id: &str) -> Result<Option<GroupRecord>> {
        (**self).get(id).await
    }
    async fn list(
        &self,
        team: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<GroupRecord>> {
        (**self).list(team, after, limit).await
    }
    async fn update(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        (**self).update(id, name, description, at, event).await
    }
    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<()> {
        (**self).delete(id, event).await
    }
    async fn add_member(
        &self,
        group: &str,
        member: Holder<'_>,
        added_by: &str,
        at: i64,
        event: &AuditEvent,
    ) -> Result<bool> {
        (**self)
            .add_member(group, member, added_by, at, event)
            .await
    }
    async fn remove_member(
        &self,
        group: &str,
        member: Holder<'_>,
        event: &AuditEvent,
    ) -> Result<bool> {
        (**self).remove_member(group, member, event).await
    }
    async fn members(&self, group: &str) -> Result<Vec<MemberRecord>> {
        (**self).members(group).await
    }
    async fn groups_of(&self, user: &str) -> Result<Vec<GroupRecord>> {
        (**self).groups_of(user).await
    }
}
