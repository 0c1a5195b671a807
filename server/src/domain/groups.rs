//! Groups: named sets of users (and of other groups) that shares and policies name. Platform
//! administrators manage them; a user sees the groups they are in.
//!
//! A group's id is what a policy names (`principal in Group::"contractors"`), so it is chosen
//! at creation and never changes; its display name can. Nested groups are free: membership is
//! transitive, and the policy engine sees every group a user is in.

use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;

use super::{Ctx, Guard, names, rfc3339};
use crate::error::{Error, Result};
use crate::store::{DynGroupStore, DynUserStore, GroupRecord, Holder, MemberRecord, UserKey};

/// A group id: 1 to 64 of `a-z 0-9 . _ -`, starting with a letter or digit; not `admins`
/// (the administrators' group is the `is_admin` flag, not a group anyone manages).
pub fn group_id(text: &str) -> Result<String> {
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
    if text == crate::authz::ADMINS {
        return Err(Error::Invalid(
            "'admins' is reserved: administrators are made with POST /admin/users/{id}/admin"
                .into(),
        ));
    }
    Ok(text.to_owned())
}

/// A group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Group {
    /// The id policies name: `Group::"<id>"`.
    pub id: String,
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
    guard: Guard,
}

impl Groups {
    /// Over the group and account stores.
    pub fn new(store: Arc<DynGroupStore>, users: Arc<DynUserStore>, guard: Guard) -> Groups {
        Groups {
            store,
            users,
            guard,
        }
    }

    async fn admin(&self, ctx: &Ctx) -> Result<()> {
        self.guard.authorize_platform(ctx, "administer").await
    }

    async fn existing(&self, id: &str) -> Result<GroupRecord> {
        let id = group_id(id).map_err(|_| Error::NotFound("no such group".into()))?;
        self.store
            .get(&id)
            .await?
            .ok_or_else(|| Error::NotFound("no such group".into()))
    }

    /// Creates a group (administrators).
    pub async fn create(
        &self,
        ctx: &Ctx,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<Group> {
        self.admin(ctx).await?;
        let id = group_id(id)?;
        let name = names::display_name(name.unwrap_or(&id))?;
        let description = description_text(description.unwrap_or(""))?;
        let now = self.guard.now();
        let record = GroupRecord {
            id: id.clone(),
            name: name.clone(),
            description,
            created_by: ctx.user_id()?.to_owned(),
            created_at: now,
            updated_at: now,
        };
        let event = ctx
            .event("group.created", "group", &id)
            .attr("name", name.as_str())
            .build()?;
        self.store.create(&record, &event).await?;
        Ok(record.into())
    }

    /// Groups by id, paged (administrators).
    pub async fn list(&self, ctx: &Ctx, after: Option<&str>, limit: usize) -> Result<Vec<Group>> {
        self.admin(ctx).await?;
        if !(1..=1000).contains(&limit) {
            return Err(Error::BadRequest("limit is 1 to 1000".into()));
        }
        Ok(self
            .store
            .list(after, limit)
            .await?
            .into_iter()
            .map(Group::from)
            .collect())
    }

    /// A group and its members (administrators).
    pub async fn get(&self, ctx: &Ctx, id: &str) -> Result<GroupDetail> {
        self.admin(ctx).await?;
        let g = self.existing(id).await?;
        let members = self.store.members(&g.id).await?;
        Ok(GroupDetail {
            group: g.into(),
            members: members.into_iter().map(Member::from).collect(),
        })
    }

    /// Renames or re-describes a group (administrators); its id stays.
    pub async fn update(
        &self,
        ctx: &Ctx,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<Group> {
        self.admin(ctx).await?;
        let g = self.existing(id).await?;
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
        self.existing(&g.id).await.map(Group::from)
    }

    /// Deletes a group (administrators): its members lose what it gave them at once, and the
    /// shares it held go with it.
    pub async fn delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        self.admin(ctx).await?;
        let g = self.existing(id).await?;
        let event = ctx.event("group.deleted", "group", &g.id).build()?;
        Ok(self.store.delete(&g.id, &event).await?)
    }

    /// Adds a user (by e-mail) or a group to a group (administrators); true when it was not a
    /// member yet.
    pub async fn add_member(
        &self,
        ctx: &Ctx,
        id: &str,
        member: Option<NewMember<'_>>,
    ) -> Result<bool> {
        self.admin(ctx).await?;
        let g = self.existing(id).await?;
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
                    .existing(child)
                    .await
                    .map_err(|_| Error::Invalid(format!("no group {child:?}")))?;
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
            other => Ok(other?),
        }
    }

    /// Removes a member (administrators).
    pub async fn remove_member(
        &self,
        ctx: &Ctx,
        id: &str,
        kind: &str,
        member_id: &str,
    ) -> Result<()> {
        self.admin(ctx).await?;
        let g = self.existing(id).await?;
        let member_id = match kind {
            "user" => names::id(member_id)?,
            "group" => group_id(member_id).map_err(|_| Error::NotFound("no such member".into()))?,
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

    /// The groups the caller is in, directly or through nested groups.
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
    use super::group_id;

    #[test]
    fn group_ids() {
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
