//! Groups: named sets of users (and of other groups) that shares and policies name. Platform
//! administrators manage them; a user sees the groups they are in.
//!
//! A group's id is what a policy names (`principal in Group::"contractors"`), so it is chosen
//! at creation and never changes; its display name can. Nested groups are free: membership is
//! transitive, and the policy engine sees every group a user is in.

use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;

use super::{Ctx, Guard, Teams, names, rfc3339};
use crate::error::{Error, Result};
use crate::store::{DynGroupStore, DynUserStore, GroupRecord, Holder, MemberRecord, UserKey};

/// A platform group's id: 1 to 64 of `a-z 0-9 . _ -`, starting with a letter or digit; not
/// `admins` (the administrators' group is the `is_admin` flag, not a group anyone manages) and
/// not shaped like a team group's id (`<team id>.<name>`).
pub fn group_id(text: &str) -> Result<String> {
    slug(text)?;
    if text == crate::authz::ADMINS {
        return Err(Error::Invalid(
            "'admins' is reserved: administrators are made with POST /admin/users/{id}/admin"
                .into(),
        ));
    }
    if team_part(text).is_some() {
        return Err(Error::Invalid(
            "an id starting with a team id and '.' names a team's group".into(),
        ));
    }
    Ok(text.to_owned())
}

/// The name part of a group id: 1 to 64 of `a-z 0-9 . _ -`, starting with a letter or digit.
fn slug(text: &str) -> Result<&str> {
    let ok = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && text.as_bytes()[0].is_ascii_alphanumeric();
    if !ok {
        return Err(Error::Invalid(
            "a group id is 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit"
                .into(),
        ));
    }
    Ok(text)
}

/// The team of a team group's id (`<team id>.<name>`), if it is one.
fn team_part(text: &str) -> Option<&str> {
    let (team, rest) = (text.get(..36)?, text.get(36..)?);
    let name = rest.strip_prefix('.')?;
    (uuid::Uuid::try_parse(team).is_ok_and(|u| u.to_string() == team) && slug(name).is_ok())
        .then_some(team)
}

/// Any group's id as shares and policies name it: a platform group's ([`group_id`]) or a team
/// group's `<team id>.<name>`.
pub fn any_group_id(text: &str) -> Result<String> {
    if team_part(text).is_some() {
        return Ok(text.to_owned());
    }
    group_id(text)
}

/// Where a group lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Platform-wide: administrators manage it.
    Platform,
    /// Inside the team with this id: its admins (and administrators) manage it, its members see
    /// it.
    Team(&'a str),
}

/// A scope after authorization: the team, if any.
type Resolved = Option<crate::store::TeamRecord>;

/// A group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Group {
    /// The id policies name: `Group::"<id>"` (a team's group: `<team id>.<name>`).
    pub id: String,
    /// The team whose group it is; absent for a platform-wide group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    /// Display name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Who created it.
    pub created_by: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// Last change (RFC 3339).
    pub updated_at: String,
}

impl From<GroupRecord> for Group {
    fn from(g: GroupRecord) -> Group {
        Group {
            id: g.id,
            team_id: g.team_id,
            name: g.name,
            description: g.description,
            created_by: g.created_by,
            created_at: rfc3339(g.created_at),
            updated_at: rfc3339(g.updated_at),
        }
    }
}

/// A member of a group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Member {
    /// `user` or `group`.
    pub kind: String,
    /// User or group id.
    pub id: String,
    /// The user's e-mail or the group's name.
    pub name: String,
    /// Who added it.
    pub added_by: String,
    /// When (RFC 3339).
    pub added_at: String,
}

impl From<MemberRecord> for Member {
    fn from(m: MemberRecord) -> Member {
        Member {
            kind: m.kind,
            id: m.id,
            name: m.name,
            added_by: m.added_by,
            added_at: rfc3339(m.added_at),
        }
    }
}

/// A group with its direct members.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupDetail {
    /// The group.
    #[serde(flatten)]
    pub group: Group,
    /// Its direct members: users by e-mail, then groups by id.
    pub members: Vec<Member>,
}

/// Who to add to a group.
#[derive(Debug, Clone, Copy)]
pub enum NewMember<'a> {
    /// The account with this e-mail.
    Email(&'a str),
    /// The group with this id (nested).
    Group(&'a str),
}

/// The groups service.
#[derive(Debug, Clone)]
pub struct Groups {
    store: Arc<DynGroupStore>,
    users: Arc<DynUserStore>,
    teams: Teams,
    guard: Guard,
}

impl Groups {
    /// Over the group and account stores, authorizing team groups through `teams`.
    pub fn new(
        store: Arc<DynGroupStore>,
        users: Arc<DynUserStore>,
        teams: Teams,
        guard: Guard,
    ) -> Groups {
        Groups {
            store,
            users,
            teams,
            guard,
        }
    }

    /// Authorizes managing the groups of `scope`: administrators for the platform's, the team's
    /// admins for a team's.
    async fn manage(&self, ctx: &Ctx, scope: Scope<'_>) -> Result<Resolved> {
        match scope {
            Scope::Platform => {
                self.guard.authorize_platform(ctx, "administer").await?;
                Ok(None)
            }
            Scope::Team(team) => Ok(Some(
                self.teams.authorized_team(ctx, "manage_team", team).await?,
            )),
        }
    }

    /// Authorizes seeing the groups of `scope`: administrators for the platform's, the team's
    /// members for a team's.
    async fn view(&self, ctx: &Ctx, scope: Scope<'_>) -> Result<Resolved> {
        match scope {
            Scope::Platform => self.manage(ctx, scope).await,
            Scope::Team(team) => Ok(Some(
                self.teams.authorized_team(ctx, "view_team", team).await?,
            )),
        }
    }

    /// The full id of group `id` in `scope`: a team's group may be named by its whole id or by
    /// the part after the team's.
    fn qualified(scope: &Resolved, id: &str) -> Result<String> {
        match scope {
            None => group_id(id),
            Some(t) => {
                let prefix = format!("{}.", t.id);
                let name = id.strip_prefix(&prefix).unwrap_or(id);
                Ok(format!("{prefix}{}", slug(name)?))
            }
        }
    }

    /// Group `id` of `scope`; one of another scope is not found.
    async fn existing(&self, scope: &Resolved, id: &str) -> Result<GroupRecord> {
        let missing = || Error::NotFound("no such group".into());
        let id = Self::qualified(scope, id).map_err(|_| missing())?;
        let g = self.store.get(&id).await?.ok_or_else(missing)?;
        if g.team_id.as_deref() != scope.as_ref().map(|t| t.id.as_str()) {
            return Err(missing());
        }
        Ok(g)
    }

    /// Creates a group in `scope`; a team's gets the id `<team id>.<id>`.
    pub async fn create(
        &self,
        ctx: &Ctx,
        scope: Scope<'_>,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<Group> {
        let resolved = self.manage(ctx, scope).await?;
        let slug = slug(id)?;
        let full = Self::qualified(&resolved, slug)?;
        let name = names::display_name(name.unwrap_or(slug))?;
        let description = description_text(description.unwrap_or(""))?;
        let now = self.guard.now();
        let record = GroupRecord {
            id: full.clone(),
            team_id: resolved.as_ref().map(|t| t.id.clone()),
            name: name.clone(),
            description,
            created_by: ctx.user_id()?.to_owned(),
            created_at: now,
            updated_at: now,
        };
        let mut draft = ctx
            .event("group.created", "group", &full)
            .attr("name", name.as_str());
        if let Some(t) = &resolved {
            draft = draft.attr("team_id", t.id.as_str());
        }
        self.store.create(&record, &draft.build()?).await?;
        Ok(record.into())
    }

    /// The groups of `scope` by id, paged.
    pub async fn list(
        &self,
        ctx: &Ctx,
        scope: Scope<'_>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Group>> {
        let resolved = self.view(ctx, scope).await?;
        if !(1..=1000).contains(&limit) {
            return Err(Error::BadRequest("limit is 1 to 1000".into()));
        }
        let team = resolved.as_ref().map(|t| t.id.as_str());
        Ok(self
            .store
            .list(team, after, limit)
            .await?
            .into_iter()
            .map(Group::from)
            .collect())
    }

    /// A group of `scope` and its members.
    pub async fn get(&self, ctx: &Ctx, scope: Scope<'_>, id: &str) -> Result<GroupDetail> {
        let resolved = self.view(ctx, scope).await?;
        let g = self.existing(&resolved, id).await?;
        let members = self.store.members(&g.id).await?;
        Ok(GroupDetail {
            group: g.into(),
            members: members.into_iter().map(Member::from).collect(),
        })
    }

    /// Renames or re-describes a group of `scope`; its id stays.
    pub async fn update(
        &self,
        ctx: &Ctx,
        scope: Scope<'_>,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<Group> {
        let resolved = self.manage(ctx, scope).await?;
        let g = self.existing(&resolved, id).await?;
        let name = name.map(names::display_name).transpose()?;
        let description = description.map(description_text).transpose()?;
        let mut draft = ctx.event("group.updated", "group", &g.id);
        if let Some(n) = &name {
            draft = draft.attr("name", n.as_str());
        }
        let event = draft.build()?;
        self.store
            .update(
                &g.id,
                name.as_deref(),
                description.as_deref(),
                self.guard.now(),
                &event,
            )
            .await?;
        self.existing(&resolved, &g.id).await.map(Group::from)
    }

    /// Deletes a group of `scope`: its members lose what it gave them at once, and the shares
    /// it held go with it.
    pub async fn delete(&self, ctx: &Ctx, scope: Scope<'_>, id: &str) -> Result<()> {
        let resolved = self.manage(ctx, scope).await?;
        let g = self.existing(&resolved, id).await?;
        let event = ctx.event("group.deleted", "group", &g.id).build()?;
        Ok(self.store.delete(&g.id, &event).await?)
    }

    /// Adds a user (by e-mail) or a group to a group of `scope`; true when it was not a member
    /// yet. A team's group takes members of the team and the team's groups; a platform group
    /// takes anyone and platform groups.
    pub async fn add_member(
        &self,
        ctx: &Ctx,
        scope: Scope<'_>,
        id: &str,
        member: Option<NewMember<'_>>,
    ) -> Result<bool> {
        let resolved = self.manage(ctx, scope).await?;
        let g = self.existing(&resolved, id).await?;
        let member = member.ok_or_else(|| {
            Error::Invalid("give exactly one of email (a user) or group (a group id)".into())
        })?;
        let (kind, member_id) = match member {
            NewMember::Email(e) => {
                let email = names::email(e)?;
                let user = self
                    .users
                    .get(UserKey::Email(&email))
                    .await?
                    .ok_or_else(|| Error::Invalid(format!("no account has the address {email}")))?;
                ("user", user.id)
            }
            NewMember::Group(child) => {
                let child = self
                    .existing(&resolved, child)
                    .await
                    .map_err(|_| Error::Invalid(format!("no group {child:?} here")))?;
                ("group", child.id)
            }
        };
        let holder =
            Holder::parse(kind, &member_id).ok_or_else(|| Error::Internal("member kind".into()))?;
        let event = ctx
            .event("group.member_added", "group", &g.id)
            .attr(kind, member_id.as_str())
            .build()?;
        match self
            .store
            .add_member(&g.id, holder, ctx.user_id()?, self.guard.now(), &event)
            .await
        {
            Err(crate::store::Error::NotFound) => {
                Err(Error::Invalid(format!("that {kind} no longer exists")))
            }
            Err(crate::store::Error::Invalid(why)) if resolved.is_some() && kind == "user" => Err(
                Error::Invalid(format!("only members of the team join its groups ({why})")),
            ),
            other => Ok(other?),
        }
    }

    /// Removes a member from a group of `scope`.
    pub async fn remove_member(
        &self,
        ctx: &Ctx,
        scope: Scope<'_>,
        id: &str,
        kind: &str,
        member_id: &str,
    ) -> Result<()> {
        let resolved = self.manage(ctx, scope).await?;
        let g = self.existing(&resolved, id).await?;
        let member_id = match kind {
            "user" => names::id(member_id)?,
            "group" => Self::qualified(&resolved, member_id)
                .map_err(|_| Error::NotFound("no such member".into()))?,
            _ => return Err(Error::NotFound("members are users or groups".into())),
        };
        let holder =
            Holder::parse(kind, &member_id).ok_or_else(|| Error::Internal("member kind".into()))?;
        let event = ctx
            .event("group.member_removed", "group", &g.id)
            .attr(kind, member_id.as_str())
            .build()?;
        if !self.store.remove_member(&g.id, holder, &event).await? {
            return Err(Error::NotFound(format!("that {kind} is not a member")));
        }
        Ok(())
    }

    /// The groups the caller is in, directly or through nested groups (platform and team
    /// groups alike).
    pub async fn mine(&self, ctx: &Ctx) -> Result<Vec<Group>> {
        let user = self.guard.authorize_own_account(ctx).await?;
        Ok(self
            .store
            .groups_of(&user)
            .await?
            .into_iter()
            .map(Group::from)
            .collect())
    }
}

/// A description: up to 1000 characters, no control characters but newlines.
fn description_text(text: &str) -> Result<String> {
    if text.chars().count() > 1000 || text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Error::Invalid(
            "a description is at most 1000 characters, no control characters".into(),
        ));
    }
    Ok(text.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::{any_group_id, group_id};

    #[test]
    fn group_ids() {
        let team = "01a238f8-9146-7153-b687-4d3e8dc049d1";
        assert!(group_id(&format!("{team}.reviewers")).is_err(), "a team's");
        assert!(any_group_id(&format!("{team}.reviewers")).is_ok());
        assert!(any_group_id(&format!("{team}.Reviewers")).is_err());
        assert!(any_group_id(&format!("{}.reviewers", team.to_uppercase())).is_err());
        assert!(any_group_id("contractors").is_ok());
        for ok in ["contractors", "eng.berlin", "team_a-1", "9lives"] {
            assert_eq!(group_id(ok).unwrap(), ok);
        }
        for bad in [
            "",
            "Admins2",
            "admins",
            "-x",
            ".x",
            "a b",
            "é",
            &"x".repeat(65),
        ] {
            assert!(group_id(bad).is_err(), "{bad:?}");
        }
    }
}
