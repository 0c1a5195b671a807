//! Teams: who is in which team with which role, and the space each team owns (the `teams` and
//! `team_members` tables, and the team's account row and space folder, written with the team).

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::Result;

/// A team as stored (times in microseconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRecord {
    /// The team's id: also the id of the account that owns its files.
    pub id: String,
    /// Display name (the space folder is named after it at creation).
    pub name: String,
    /// The folder the team owns, at the top of its tree.
    pub space_id: String,
    /// Who created it.
    pub created_by: String,
    /// Created.
    pub created_at: i64,
    /// Last renamed.
    pub updated_at: i64,
}

/// A member of a team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMemberRecord {
    /// User id.
    pub user_id: String,
    /// Their e-mail.
    pub email: String,
    /// `admin`, `editor` or `guest`.
    pub role: String,
    /// Who gave them the role.
    pub added_by: String,
    /// When.
    pub added_at: i64,
}

/// A team as one of its members sees it: the team and the member's role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The team.
    pub team: TeamRecord,
    /// The member's role in it.
    pub role: String,
}

/// One content of a team's files (shared by the versions that have it), as a hand-over copies
/// it under the receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamContent {
    /// Its key.
    pub blob_key: String,
    /// SHA-256 of its bytes, hex (what the copy must come out as).
    pub sha256: String,
    /// Its length.
    pub size: u64,
}

/// A team's deletion that hands its files to one of its members.
#[derive(Debug, Clone)]
pub struct HandOver<'a> {
    /// The member who receives the space, its tree and its trash.
    pub to: &'a str,
    /// Every content of the team's files (old key) with its copy under `to` (new key).
    pub rekeyed: &'a [(String, String)],
    /// Whether the new keys must be committed chunked contents (then a copy the collector took
    /// meanwhile is caught); false on a plain object store.
    pub chunked: bool,
    /// `to`'s quota, which the team's files count against from then on.
    pub quota: &'a super::Quota,
}

/// Why `hand_over` refuses when the team's files changed since their contents were copied.
pub(crate) const TEAM_CHANGED: &str =
    "the team's files changed during the hand-over: nothing was moved, try again";
/// Why `hand_over` refuses a receiver outside the team.
pub(crate) const NOT_A_MEMBER: &str = "the team's files go only to one of its members";

/// The rule `set_role` and `remove_member` keep.
pub(crate) const LAST_ADMIN: &str =
    "a team keeps at least one admin: make another member admin first";
/// Why `delete` refuses.
pub(crate) const TEAM_NOT_EMPTY: &str =
    "the team's space still holds files or folders (the trash included): delete or move them first";
/// Why the folder stores refuse to trash, delete or move a space.
pub(crate) const SPACE_STAYS: &str =
    "a team's space goes only with its team (DELETE /teams/{id} once it is empty)";

/// The teams.
///
/// Contract (checked by [`super::conformance`]): `create` writes the team, its account (which
/// the user store never returns), its space folder and its first admin in one transaction;
/// `set_role` adds a member or changes a role, `remove_member` takes one out, and both refuse
/// with `Conflict` ([`LAST_ADMIN`]) to leave the team without an admin; `transfer` makes `to`
/// (a member) admin and `from` editor at once; `delete` refuses with `Conflict`
/// ([`TEAM_NOT_EMPTY`]) while anything but the empty space is owned by the team, and otherwise
/// removes the team, its account, space, members and the shares on the space; a missing team
/// or member is `NotFound`; `hand_over` deletes the team like `delete` but first gives every
/// folder and file it owns (trash included) to `to`, a member (`Invalid`, [`NOT_A_MEMBER`],
/// otherwise), pointing each version at its copied content, in one transaction, refusing with
/// `Conflict` ([`TEAM_CHANGED`]) when the contents are not exactly the team's (or a chunked copy
/// is gone) and `QuotaExceeded` when `to`'s quota cannot hold them; the space becomes a folder
/// at the top of `to`'s tree, named after the team (with " (2)", " (3)"… when taken).
/// Every write records its event in the same transaction.
#[async_trait]
pub trait TeamStore: Debug + Send + Sync + 'static {
    /// Creates a team owning a space folder named `team.name`, with `admin` as its admin.
    async fn create(&self, team: &TeamRecord, admin: &str, event: &AuditEvent) -> Result<()>;
    /// One team.
    async fn get(&self, id: &str) -> Result<Option<TeamRecord>>;
    /// Every team, by id, after `after`, at most `limit`.
    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<TeamRecord>>;
    /// The teams `user` is in, with their role, by name.
    async fn teams_of(&self, user: &str) -> Result<Vec<Membership>>;
    /// Renames a team (and its space folder) at `at`.
    async fn rename(&self, id: &str, name: &str, at: i64, event: &AuditEvent) -> Result<()>;
    /// Deletes an empty team.
    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<()>;
    /// The distinct contents of the versions of the team's files, trash included.
    async fn contents(&self, id: &str) -> Result<Vec<TeamContent>>;
    /// Deletes the team, handing what it owns to a member; the name the space got.
    async fn hand_over(&self, id: &str, to: &HandOver<'_>, event: &AuditEvent) -> Result<String>;
    /// Gives `user` (an account) `role` in the team, adding them if they were not in it;
    /// the role they had before.
    async fn set_role(
        &self,
        team: &str,
        user: &str,
        role: &str,
        by: &str,
        at: i64,
        event: &AuditEvent,
    ) -> Result<Option<String>>;
    /// Takes `user` out of the team.
    async fn remove_member(&self, team: &str, user: &str, event: &AuditEvent) -> Result<()>;
    /// Makes member `to` admin and `from` editor, in one step.
    async fn transfer(
        &self,
        team: &str,
        from: &str,
        to: &str,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()>;
    /// The members, by e-mail.
    async fn members(&self, team: &str) -> Result<Vec<TeamMemberRecord>>;
}

/// A team store behind a pointer.
pub type DynTeamStore = dyn TeamStore;

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: TeamStore + ?Sized> TeamStore for Arc<T> {
    async fn create(&self, team: &TeamRecord, admin: &str, event: &AuditEvent) -> Result<()> {
        (**self).create(team, admin, event).await
    }
    async fn get(&self, id: &str) -> Result<Option<TeamRecord>> {
        (**self).get(id).await
    }
    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<TeamRecord>> {
        (**self).list(after, limit).await
    }
    async fn teams_of(&self, user: &str) -> Result<Vec<Membership>> {
        (**self).teams_of(user).await
    }
    async fn rename(&self, id: &str, name: &str, at: i64, event: &AuditEvent) -> Result<()> {
        (**self).rename(id, name, at, event).await
    }
    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<()> {
        (**self).delete(id, event).await
    }
    async fn contents(&self, id: &str) -> Result<Vec<TeamContent>> {
        (**self).contents(id).await
    }
    async fn hand_over(&self, id: &str, to: &HandOver<'_>, event: &AuditEvent) -> Result<String> {
        (**self).hand_over(id, to, event).await
    }
    async fn set_role(
        &self,
        team: &str,
        user: &str,
        role: &str,
        by: &str,
        at: i64,
        event: &AuditEvent,
    ) -> Result<Option<String>> {
        (**self).set_role(team, user, role, by, at, event).await
    }
    async fn remove_member(&self, team: &str, user: &str, event: &AuditEvent) -> Result<()> {
        (**self).remove_member(team, user, event).await
    }
    async fn transfer(
        &self,
        team: &str,
        from: &str,
        to: &str,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        (**self).transfer(team, from, to, at, event).await
    }
    async fn members(&self, team: &str) -> Result<Vec<TeamMemberRecord>> {
        (**self).members(team).await
    }
}
